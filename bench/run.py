"""`make bench`: the coach on each Telegram framework against a bare echo bot of that framework
(aiogram, python-telegram-bot), on this machine, in the same run.

Each bot runs as its own process against the fake Bot API (sandbox/botapi.py) on
127.0.0.1. A closed loop of C simulated patients each sends `/help` and waits until the bot's
answer arrives (sendMessage) before sending again. Reported per bot, mode and C: updates a
second, latency p50 / p99, the bot's CPU per update, its memory (RSS) and the CPU its start-up
took; then the coach on each framework as a ratio of the bare bot of the same framework, because
absolute figures move by 20% or more from run to run on a shared machine (../shared/PERFORMANCE.md).

    python -m bench.run [--modes polling,webhook] [--concurrency 1,50] [--updates 500] [--runs 3]
                        [--bots aiogram,ptb,paincoach-aiogram,paincoach-ptb]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from sandbox.botapi import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
# The bare bots, and the coach on each framework (TELEGRAM_FRAMEWORK).
BARE = {"aiogram": "bench.echo_bot", "ptb": "bench.ptb_echo_bot"}
BOTS = ("aiogram", "ptb", "paincoach-aiogram", "paincoach-ptb")


def framework_of(bot: str) -> str:
    return bot.removeprefix("paincoach-")


class BenchTelegram(FakeTelegram):
    """The fake Bot API, telling the load generator the moment each answer arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[float]] = {}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        result = await super()._send_message(params)
        future = self.waiting.pop(params.get("chat_id", 0), None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        return result


@dataclass(frozen=True)
class Sample:
    updates_per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_update: float


@dataclass(frozen=True)
class Row:
    bot: str
    mode: str
    concurrency: int
    sample: Sample
    rss_mib: float
    startup_cpu_s: float


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DATA_KEY = Fernet.generate_key().decode()


@contextmanager
def bot_process(
    bot: str, mode: str, telegram: BenchTelegram, workdir: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "BENCH_API": telegram.base_url,
        "BENCH_TOKEN": telegram.token,
        "BENCH_PORT": str(port),
        "BENCH_SECRET": SECRET,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / f'{bot}-{mode}.db'}",
        "LOG_LEVEL": "WARNING",
        "DATA_KEY": DATA_KEY,  # free text sealed as in production (webhook mode requires a key)
        "TELEGRAM_FRAMEWORK": framework_of(bot),
    }
    if mode == "webhook":
        env |= {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN_HOST": "127.0.0.1",
            "WEBHOOK_LISTEN_PORT": str(port),
        }
    command = ["-m", BARE[bot], mode] if bot in BARE else ["-m", "paincoach.cli", "run"]
    log = (workdir / f"{bot}-{mode}.log").open("ab")
    process = subprocess.Popen([sys.executable, *command], cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def wait_ready(
    telegram: BenchTelegram, bot: str, mode: str, process: subprocess.Popen[bytes], workdir: Path
) -> None:
    method = "getUpdates" if mode == "polling" else "setWebhook"
    deadline = time.monotonic() + 300  # a start-up on a busy shared machine
    while not any(call.method == method and call.finished for call in telegram.calls):
        if time.monotonic() > deadline or process.poll() is not None:
            log = workdir / f"{bot}-{mode}.log"
            tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
            raise RuntimeError(f"{bot} (pid {process.pid}) never became ready; its log ends:\n" + "\n".join(tail))
        await asyncio.sleep(0.05)


class Load:
    """Simulated patients sending `/help`, one update at a time each."""

    def __init__(self, telegram: BenchTelegram, mode: str, port: int, http: aiohttp.ClientSession) -> None:
        self.telegram, self.mode, self.http = telegram, mode, http
        self.hook = f"http://127.0.0.1:{port}/hook"
        self.update_ids = count(1)
        self.message_ids = count(1)

    async def one(self, user_id: int) -> float:
        user = self.telegram.user(user_id, "Bench")
        answered: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.telegram.waiting[user_id] = answered
        sent = time.perf_counter()
        if self.mode == "polling":
            user.send_command("/help")
        else:
            update = {
                "update_id": next(self.update_ids),
                "message": {
                    "message_id": next(self.message_ids),
                    "date": int(time.time()),
                    "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
                    "from": user.as_user,
                    "text": "/help",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }
            async with self.http.post(self.hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}):
                pass
        return await asyncio.wait_for(answered, 60) - sent

    async def closed_loop(self, concurrency: int, updates: int, pid: int, first_user: int) -> Sample:
        latencies: list[float] = []
        left = count()

        async def patient(user_id: int) -> None:
            while next(left) < updates:
                latencies.append(await self.one(user_id))

        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(patient(first_user + i) for i in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
        ordered = sorted(latencies)
        return Sample(
            updates_per_second=len(ordered) / elapsed,
            p50_ms=1000 * ordered[len(ordered) // 2],
            p99_ms=1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            cpu_ms_per_update=1000 * cpu / len(ordered),
        )


def median_sample(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.updates_per_second for s in samples),
        statistics.median(s.p50_ms for s in samples),
        statistics.median(s.p99_ms for s in samples),
        statistics.median(s.cpu_ms_per_update for s in samples),
    )


async def measure(bot: str, mode: str, levels: list[int], updates: int, runs: int, workdir: Path) -> list[Row]:
    telegram = BenchTelegram()
    await telegram.start()
    try:
        return await _measure(telegram, bot, mode, levels, updates, runs, workdir)
    finally:
        await telegram.stop()


async def _measure(
    telegram: BenchTelegram, bot: str, mode: str, levels: list[int], updates: int, runs: int, workdir: Path
) -> list[Row]:
    rows: list[Row] = []
    port = free_port()
    async with aiohttp.ClientSession() as http:
        with bot_process(bot, mode, telegram, workdir, port) as process:
            pid = process.pid
            await wait_ready(telegram, bot, mode, process, workdir)
            startup = cpu_seconds(pid)
            load = Load(telegram, mode, port, http)
            users = max(levels)
            await asyncio.gather(*(load.one(10_000 + i) for i in range(users)))  # first contact: enrolment
            for level in levels:
                samples = [await load.closed_loop(level, updates, pid, 10_000) for _ in range(runs)]
                rows.append(Row(bot, mode, level, median_sample(samples), rss_mib(pid), startup))
    return rows


def ratio(coach: float, bare: float) -> str:
    return f"{coach / bare:.2f}x" if bare else "-"


def report(rows: list[Row]) -> str:
    lines = [
        "| bot | mode | C | updates/s | p50 ms | p99 ms | CPU per update | RSS | start-up CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s = row.sample
        lines.append(
            f"| {row.bot} | {row.mode} | {row.concurrency} | {s.updates_per_second:.0f} | {s.p50_ms:.1f} | "
            f"{s.p99_ms:.1f} | {s.cpu_ms_per_update:.2f} ms | {row.rss_mib:.0f} MiB | {row.startup_cpu_s:.2f} s |"
        )
    lines += [
        "",
        "paincoach on each framework as a ratio of the bare bot of that framework (throughput: higher is better;"
        " the rest: lower is better):",
        "",
        "| framework | mode | C | updates/s | p50 | p99 | CPU per update | RSS | start-up CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    bare = {(r.bot, r.mode, r.concurrency): r for r in rows if r.bot in BARE}
    for row in rows:
        other = bare.get((framework_of(row.bot), row.mode, row.concurrency))
        if row.bot in BARE or other is None:
            continue
        s, b = row.sample, other.sample
        lines.append(
            f"| {framework_of(row.bot)} | {row.mode} | {row.concurrency} | "
            f"{ratio(s.updates_per_second, b.updates_per_second)} | "
            f"{ratio(s.p50_ms, b.p50_ms)} | {ratio(s.p99_ms, b.p99_ms)} | "
            f"{ratio(s.cpu_ms_per_update, b.cpu_ms_per_update)} | {ratio(row.rss_mib, other.rss_mib)} | "
            f"{ratio(row.startup_cpu_s, other.startup_cpu_s)} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--modes", default="polling,webhook")
    parser.add_argument("--concurrency", default="1,50")
    parser.add_argument("--updates", type=int, default=500, help="updates per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported")
    parser.add_argument("--bots", default=",".join(BOTS), help=f"any of {', '.join(BOTS)}")
    args = parser.parse_args()
    unknown = set(args.bots.split(",")) - set(BOTS)
    if unknown:
        parser.error(f"unknown bot {', '.join(sorted(unknown))}: choose from {', '.join(BOTS)}")
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="paincoach-bench-") as folder:
        for mode in args.modes.split(","):
            for bot in args.bots.split(","):
                print(f"measuring {bot} ({mode}) ...", file=sys.stderr, flush=True)
                rows += await measure(bot, mode, levels, args.updates, args.runs, Path(folder))
    print(report(rows))


if __name__ == "__main__":
    asyncio.run(main())
