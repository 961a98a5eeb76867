"""`make bench` writes bench/results.json with every figure issue 16 names: a tiny run of every
scenario (its figures mean nothing, and nothing here judges them) checks the keys and their kinds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

INBOUND_KEYS = {
    "framework",
    "mode",
    "patients_in_flight",
    "updates_per_s",
    "bare_updates_per_s",
    "throughput_ratio",
    "cpu_ms_per_update",
    "bare_cpu_ms_per_update",
    "cpu_ratio",
    "p50_ms",
    "p99_ms",
}


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_a_tiny_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--tiny", "--frameworks", "aiogram,ptb", "--modes", "webhook",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())

    assert {row["framework"] for row in results["inbound"]} == {"aiogram", "ptb"}, "each framework, against its own"
    for row in results["inbound"]:
        assert row.keys() >= INBOUND_KEYS
        assert all(number(row[key]) for key in INBOUND_KEYS - {"framework", "mode"})
        assert row["updates_per_s"] > 0 and row["bare_updates_per_s"] > 0
    assert set(results["latency_at_100_per_s"]) == {"p50_ms", "p99_ms"}
    broadcast = results["broadcast"]
    assert {"recipients", "ceiling_per_s", "achieved_per_s", "ratio", "lost", "duplicated"} <= broadcast.keys()
    assert broadcast["lost"] == 0 and broadcast["duplicated"] == 0, "every recipient got it once, even in a tiny run"
    assert number(results["alert_during_broadcast_s"]), "the item-9 alert was sent during the broadcast"
    assert number(results["sweep_ms"]) and number(results["rss_mb"])
    assert set(results["reminder_lateness_s"]) == {"p50", "max"}
    assert {"cpu_s", "bare_cpu_s", "ratio", "rss_mb"} <= results["startup"].keys()
    assert "target" in done.stdout and "throughput_ratio" in done.stdout, "the table, with each target's verdict"
