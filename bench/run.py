"""`make bench`: the coach against bare bots of its own framework, on this machine, in one run.

Each bot runs as its own process against the stand-in Bot API (sandbox/botapi) on 127.0.0.1.
It writes bench/results.json and prints a table. The figures (docs/performance.md says how each is
taken, and what the targets are):

- inbound: patients walking real lesson steps, closed loop with 50 in flight, webhook and polling,
  aiogram and python-telegram-bot, each against the bare bot of the same framework;
- latency_at_100_per_s: p50/p99 at an open-loop offered load of 100 updates a second;
- broadcast: 10,000 recipients against a stand-in that answers 429 above its ceiling;
- alert_during_broadcast_s: a PHQ-9 item-9 answer to its staff alert, during that broadcast;
- sweep_ms, rss_mb, reminder_lateness_s: the scheduler with 100,000 patients;
- startup: the coach's start-up CPU and memory against the bare bot's.

    python -m bench.run [--tiny] [--frameworks aiogram,ptb] [--modes webhook,polling] [--out FILE]

`--tiny` is a quick run of every scenario at a toy size (the test of the results' shape uses it);
its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench import broadcast
from bench.harness import (
    ROOT,
    STAFF_CHAT,
    BenchTelegram,
    Bot,
    bot_process,
    cpu_seconds,
    environment,
    free_port,
    rss_mb,
    wait_ready,
)
from bench.inbound import Load, Sample
from content.risk_language import warm

TARGETS = {
    "throughput_ratio": (">=", 0.5),
    "cpu_ratio": ("<=", 2.0),
    "latency_p99_ms": ("<=", 100.0),
    "broadcast_ratio": (">=", 0.95),
    "alert_during_broadcast_s": ("<=", 2.0),
    "sweep_ms": ("<=", 200.0),
    "rss_mb": ("<=", 300.0),
    "reminder_lateness_max_s": ("<=", 60.0),
    "startup_ratio": ("<=", 1.5),
}


@dataclass(frozen=True)
class Size:
    in_flight: int
    updates: int
    runs: int
    warm_up_steps: int
    open_loop_s: float
    recipients: int
    ceiling: float
    patients: int
    reminders: int
    window_s: float


FULL = Size(50, 1500, 3, 12, 20.0, 10_000, 300.0, 100_000, 1_000, 40.0)
TINY = Size(3, 30, 1, 3, 2.0, 40, 100.0, 300, 10, 3.0)


@dataclass(frozen=True)
class Measured:
    sample: Sample
    startup_cpu_s: float
    startup_rss_mb: float
    open_loop: Sample | None


async def measure(bot: Bot, mode: str, size: Size, workdir: Path, open_loop: bool) -> Measured:
    telegram = BenchTelegram()
    await telegram.start()
    telegram.group(STAFF_CHAT, "Guides", is_forum=True)  # the coach opens a topic for each new patient
    port = free_port()
    try:
        async with aiohttp.ClientSession() as http:
            with bot_process(bot, mode, telegram, workdir, port) as process:
                await wait_ready(telegram, mode, process)
                startup_cpu, startup_rss = cpu_seconds(process.pid), rss_mb(process.pid)
                load = Load(telegram, mode, port, http, bare=bot.kind == "bare")
                users = [telegram.user(20_000 + i, "Bench") for i in range(size.in_flight)]
                await load.warm_up(users, size.warm_up_steps)
                samples = [await load.closed_loop(users, size.updates, process.pid) for _ in range(size.runs)]
                offered = await load.open_loop(users, 100.0, size.open_loop_s) if open_loop else None
    finally:
        await telegram.stop()
    return Measured(median(samples), startup_cpu, startup_rss, offered)


def median(samples: list[Sample]) -> Sample:
    def mid(field: str) -> float:
        return float(statistics.median(getattr(s, field) for s in samples))

    return Sample(
        updates=sum(s.updates for s in samples),
        updates_per_s=mid("updates_per_s"),
        cpu_ms_per_update=mid("cpu_ms_per_update"),
        p50_ms=mid("p50_ms"),
        p99_ms=mid("p99_ms"),
        unanswered=sum(s.unanswered for s in samples),
    )


def scale(size: Size, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = environment(Bot("coach", "aiogram"), "polling", None, workdir / f"scale-{port}.db", port)
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--patients", str(size.patients), "--reminders", str(size.reminders),
         "--window", str(size.window_s)],
        cwd=workdir, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["patients"] = size.patients
    return result


async def run(size: Size, frameworks: list[str], modes: list[str], workdir: Path) -> dict[str, Any]:
    inbound: list[dict[str, Any]] = []
    startup: dict[str, Any] = {}
    latency: dict[str, Any] = {}
    for framework in frameworks:
        for mode in modes:
            print(f"inbound: {framework}, {mode} ...", file=sys.stderr, flush=True)
            first = framework == frameworks[0] and mode == "webhook"
            bare = await measure(Bot("bare", framework), mode, size, workdir, open_loop=False)
            coach = await measure(Bot("coach", framework), mode, size, workdir, open_loop=first)
            c, b = coach.sample, bare.sample
            inbound.append(
                {
                    "framework": framework,
                    "mode": mode,
                    "patients_in_flight": size.in_flight,
                    "updates_per_s": round(c.updates_per_s, 1),
                    "bare_updates_per_s": round(b.updates_per_s, 1),
                    "throughput_ratio": round(c.updates_per_s / b.updates_per_s, 3),
                    "cpu_ms_per_update": round(c.cpu_ms_per_update, 2),
                    "bare_cpu_ms_per_update": round(b.cpu_ms_per_update, 2),
                    "cpu_ratio": round(c.cpu_ms_per_update / b.cpu_ms_per_update, 2),
                    "p50_ms": round(c.p50_ms, 1),
                    "p99_ms": round(c.p99_ms, 1),
                    "unanswered": c.unanswered,
                }
            )
            if coach.open_loop is not None:
                latency = {"p50_ms": round(coach.open_loop.p50_ms, 1), "p99_ms": round(coach.open_loop.p99_ms, 1)}
            if framework not in startup:
                startup[framework] = {
                    "cpu_s": round(coach.startup_cpu_s, 2),
                    "bare_cpu_s": round(bare.startup_cpu_s, 2),
                    "ratio": round(coach.startup_cpu_s / bare.startup_cpu_s, 2),
                    "rss_mb": round(coach.startup_rss_mb, 1),
                    "bare_rss_mb": round(bare.startup_rss_mb, 1),
                }
    print("broadcast, and an alert during it ...", file=sys.stderr, flush=True)
    during = await broadcast.measure(frameworks[0], workdir, size.recipients, size.ceiling)
    print(f"the scheduler with {size.patients} patients ...", file=sys.stderr, flush=True)
    at_scale = scale(size, workdir)
    return {
        "inbound": inbound,
        "latency_at_100_per_s": latency,
        **during,
        "sweep_ms": at_scale["sweep_ms"],
        "rss_mb": at_scale["rss_mb"],
        "reminder_lateness_s": at_scale["reminder_lateness_s"],
        "scale": {"patients": at_scale["patients"], "reminders": at_scale["reminders"]},
        "startup": startup[frameworks[0]] | {"framework": frameworks[0]},
        "startup_by_framework": startup,
        "size": asdict(size),
    }


def verdicts(results: dict[str, Any]) -> list[tuple[str, float | None, str, bool]]:
    """Each target with the figure it is judged on: (name, figure, target, met)."""
    webhook = next(
        (r for r in results["inbound"] if r["framework"] == "aiogram" and r["mode"] == "webhook"),
        results["inbound"][0],
    )
    figures = {
        "throughput_ratio": webhook["throughput_ratio"],
        "cpu_ratio": webhook["cpu_ratio"],
        "latency_p99_ms": results["latency_at_100_per_s"].get("p99_ms"),
        "broadcast_ratio": results["broadcast"]["ratio"],
        "alert_during_broadcast_s": results["alert_during_broadcast_s"],
        "sweep_ms": results["sweep_ms"],
        "rss_mb": results["rss_mb"],
        "reminder_lateness_max_s": results["reminder_lateness_s"]["max"],
        "startup_ratio": results["startup"]["ratio"],
    }
    lost = results["broadcast"]["lost"] + results["broadcast"]["duplicated"]
    out = []
    for name, (sense, target) in TARGETS.items():
        figure = figures[name]
        met = figure is not None and (figure >= target if sense == ">=" else figure <= target)
        if name == "broadcast_ratio":
            met = met and lost == 0
        out.append((name, figure, f"{sense} {target:g}", met))
    return out


def table(results: dict[str, Any]) -> str:
    lines = [
        "| framework | mode | in flight | updates/s | bare | ratio | CPU ms/update | bare | ratio | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["inbound"]:
        lines.append(
            f"| {r['framework']} | {r['mode']} | {r['patients_in_flight']} | {r['updates_per_s']} | "
            f"{r['bare_updates_per_s']} | {r['throughput_ratio']} | {r['cpu_ms_per_update']} | "
            f"{r['bare_cpu_ms_per_update']} | {r['cpu_ratio']} | {r['p50_ms']} | {r['p99_ms']} |"
        )
    lines += ["", "| target | figure | goal | met |", "|---|---|---|---|"]
    for name, figure, goal, met in verdicts(results):
        lines.append(f"| {name} | {figure} | {goal} | {'yes' if met else 'NO'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tiny", action="store_true", help="every scenario at a toy size (figures mean nothing)")
    parser.add_argument("--frameworks", default="aiogram,ptb")
    parser.add_argument("--modes", default="webhook,polling")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--runs", type=int, default=None, help="closed-loop runs per case (the median is kept)")
    args = parser.parse_args()
    size = TINY if args.tiny else FULL
    if args.runs is not None:
        size = replace(size, runs=args.runs)
    warm()  # the lemma tries are built once, as `make setup` does, before any start-up is measured
    with tempfile.TemporaryDirectory(prefix="paincoach-bench-") as folder:
        results = asyncio.run(run(size, args.frameworks.split(","), args.modes.split(","), Path(folder)))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
