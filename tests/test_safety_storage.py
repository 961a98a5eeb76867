"""The safety net's storage: migration 0007 goes up and down, an alert is closed once with its
outcome, false alarms are counted, and a safety question is answered or left for the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from storage import alerts
from storage.database import Database, alembic_config, upgrade
from storage.models import Patient

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_migration_0007_adds_and_removes_its_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    database = Database(url)
    try:
        columns = {c["name"] for c in inspect(database.engine).get_columns("alert")}
        assert {"outcome", "outcome_note", "closed_by", "closed_at"} <= columns
        assert "emergency_contact" in {c["name"] for c in inspect(database.engine).get_columns("patient")}
        command.downgrade(alembic_config(url), "0006")
        inspector = inspect(database.engine)
        assert "outcome" not in {c["name"] for c in inspector.get_columns("alert")}
        assert "risk_question" not in inspector.get_table_names()
    finally:
        database.dispose()


def test_an_alert_is_closed_once_and_false_alarms_are_counted(database_url: str) -> None:
    upgrade(database_url)
    database = Database(database_url)
    with database.transaction() as session:
        patient = Patient(telegram_user_id=1, chat_id=1, locale="en", timezone="UTC", status="active", created_at=NOW)
        session.add(patient)
        session.flush()
        assert patient.id is not None
        alert = alerts.raise_alert(session, patient.id, "urgent", "risk language (intent)", "words", NOW)
        assert alert.id is not None
        assert alerts.due_again(session, NOW + timedelta(minutes=16), timedelta(minutes=15)) == [alert]
        closed = alerts.close(session, alert.id, 7, "false_alarm", "", NOW)
        assert closed is not None
        assert closed.acknowledged_by == 7, "closing acknowledges too"
        assert alerts.close(session, alert.id, 8, "urgent_care", "", NOW) is closed
        assert closed.outcome == "false_alarm" and closed.closed_by == 7, "the first outcome stays"
        assert alerts.close(session, alert.id, 7, "nonsense", "", NOW) is None
        assert alerts.false_alarms(session) == 1
        assert alerts.due_again(session, NOW + timedelta(days=2), timedelta(minutes=15)) == []

        question = alerts.ask(session, patient.id, "ambiguous words", "I can't do this anymore", NOW)
        assert alerts.unanswered(session, NOW + timedelta(minutes=59), timedelta(hours=1)) == []
        assert alerts.unanswered(session, NOW + timedelta(minutes=61), timedelta(hours=1)) == [question]
        answered = alerts.answer(session, patient.id, "no", NOW + timedelta(minutes=5))
        assert answered is question and question.answer == "no"
        assert alerts.unanswered(session, NOW + timedelta(hours=3), timedelta(hours=1)) == []
    database.dispose()
