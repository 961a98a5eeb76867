"""`paincoach schedule show` and `paincoach broadcast`, run as a coordinator would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from clock import ManualClock
from content.schema import Content
from paincoach.cli import app
from storage.models import Broadcast
from storage.patients import Person
from tests.scheduling import Walker
from tests.support import make_database, make_services


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STAFF_CHAT_ID", "-100500")
    return url


def test_schedule_show_lists_what_is_due_in_local_time_and_utc(
    database_url: str, tmp_path: Path, content: Content
) -> None:
    database = make_database(tmp_path)
    clock = ManualClock(datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    Walker(make_services(database, content, clock), database, Person(5, 5, "en")).onboard()
    database.dispose()

    result = CliRunner().invoke(app, ["schedule", "show", "p-0001"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "P-0001 (active), time zone Europe/London"
    release = next(line for line in lines if "lesson_released" in line and " 3 " in line)
    assert release.startswith("Mon 2026-04-06 09:00 BST") and "2026-04-06 08:00" in release, "local and UTC"
    assert any(line.startswith("Mon 2026-03-23 10:00 GMT") and "checkin" in line for line in lines)
    assert all("pending" in line for line in lines[2:])

    missing = CliRunner().invoke(app, ["schedule", "show", "P-9999"])
    assert missing.exit_code == 1 and "no patient P-9999" in missing.output


def test_broadcast_from_the_command_line_previews_and_asks_first(database_url: str, tmp_path: Path) -> None:
    database = make_database(tmp_path)
    database.dispose()
    runner = CliRunner()
    refused = runner.invoke(app, ["broadcast", "--to", "everyone", "--text", "Hi {{ code }}"], input="n\n")
    assert refused.exit_code == 0, refused.output
    assert "to everyone: 0 patient(s), now" in refused.output and "Hi P-0000" in refused.output
    assert "cancelled" in refused.output
    sent = runner.invoke(
        app, ["broadcast", "--to", "lesson:2", "--text", "Hello", "--at", "2026-05-01 09:30", "--quiet-hours", "--yes"]
    )
    assert sent.exit_code == 0, sent.output
    assert "at 2026-05-01 09:30 UTC, held for quiet hours" in sent.output
    bad = runner.invoke(app, ["broadcast", "--to", "everyone", "--text", "{{ nope }}", "--yes"])
    assert bad.exit_code == 1 and "mistake" in bad.output
    database = make_database(tmp_path)
    with database.transaction() as session:
        rows = session.exec(select(Broadcast)).all()
        assert [(b.audience, b.status, b.quiet_hours) for b in rows] == [
            ("everyone", "cancelled", False),
            ("lesson:2", "scheduled", True),
        ]
        assert rows[1].send_at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
        assert rows[1].report_chat_id == -100500
    database.dispose()


def test_scheduler_settings_are_checked_with_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from paincoach.settings import SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    assert load_settings(None).scheduler == "inside"
    monkeypatch.setenv("SCHEDULER", "OFF")
    assert load_settings(None).scheduler == "off"
    monkeypatch.setenv("SCHEDULER", "sometimes")
    with pytest.raises(SettingsError, match="SCHEDULER: expected inside"):
        load_settings(None)
    monkeypatch.setenv("SCHEDULER", "inside")
    monkeypatch.setenv("SEND_RATE", "200")
    with pytest.raises(SettingsError, match="SEND_RATE: Telegram allows about 30 messages a second"):
        load_settings(None)
    monkeypatch.setenv("PAID_BROADCAST", "true")
    assert load_settings(None).send_rate == 200
    monkeypatch.setenv("SEND_RATE", "5000")
    with pytest.raises(SettingsError, match="SEND_RATE"):
        load_settings(None)
