"""What operators see: /healthz and /metrics (on HEALTH_LISTEN in polling mode, and on the
webhook server), and JSON logs that name update ids and codes but never a word anyone wrote."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from clock import ManualClock
from coach import health
from paincoach.logs import configure
from sandbox.botapi import FakeTelegram
from storage import outbox
from storage.outbox import Priority
from storage.payloads import Message
from tests.e2e import STAFF_CHAT, running_coach, say, settings_for, settle, tap
from tests.support import make_database
from tests.test_e2e import label_with, onboard, walk_until

WORDS = "Zanzibarian marmalade grief"  # what the patient writes: it must appear in no log line


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure("DEBUG", "json")
    try:
        yield capsys
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_health_and_metrics_are_served_in_polling_mode(telegram: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(telegram, tmp_path, health_listen=f"127.0.0.1:{port}")
    telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings), aiohttp.ClientSession() as http:
        user = telegram.user(7101)
        await say(user, telegram, "/start")
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            body = await response.json()
            assert response.status == 200, body
        assert body["ok"] and body["checks"]["database"] == "ok"
        assert body["checks"]["scheduler_lease_seconds_left"] > 0
        assert body["checks"]["alerts_unacknowledged"] == 0
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            scraped = await response.text()
        assert 'paincoach_updates_total{route="PatientMessage"}' in scraped
        for name in (
            "paincoach_update_handling_seconds_bucket",
            "paincoach_outbox_waiting",
            "paincoach_alerts_open",
            "paincoach_scheduler_lease_seconds_left",
            "paincoach_deliveries_total",
        ):
            assert name in scraped, name  # fmt: skip


def test_health_fails_on_a_waiting_urgent_message_and_without_a_scheduler(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    clock = ManualClock()
    try:
        state = health.check(database, clock)
        assert not state.ok and "no scheduler holds the lease" in " ".join(state.problems)
        assert health.check(database, clock, needs_lease=False).ok, "a worker with SCHEDULER=off needs no lease"
        with database.transaction() as session:
            outbox.enqueue(session, 1, Message("a safety message"), clock.now(), priority=Priority.URGENT)
        clock.advance(timedelta(minutes=2))
        state = health.check(database, clock, needs_lease=False)
        assert not state.ok and state.checks["oldest_urgent_message_seconds"] == 120
        assert "an urgent message has waited more than a minute" in state.problems
    finally:
        database.dispose()


async def test_json_logs_name_updates_and_codes_but_no_words(
    telegram: FakeTelegram, tmp_path: Path, json_logs: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(telegram, tmp_path)
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings):
        user = telegram.user(7102, "Philippa", language_code="en")
        await onboard(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        await walk_until(user, telegram, "which parts of the cycle", answer=WORDS)
        await say(user, telegram, WORDS)
        await say(user, telegram, f"{WORDS}, and I want to die")
        await staff.wait_for_text("URGENT")
        await settle(telegram)
    captured = json_logs.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all({"asctime", "level", "name", "message"} <= set(r) for r in records)
    assert any(r.get("patient") == "P-0001" for r in records), "the patient's code, as a field"
    assert any("update_id" in r and "ms" in r for r in records), "update ids and timings"
    text = "\n".join(lines)
    for word in ("Zanzibarian", "marmalade", "want to die", "Philippa", telegram.token):
        assert word not in text, word
