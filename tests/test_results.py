"""Stored results and stepped-care flags, as the guides' tools read them (storage/results.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from clock import ManualClock
from content.render import plain
from content.schema import Content
from dialogs.desk import card
from dialogs.events import Start
from paincoach.settings import Settings
from paincoach.wiring import make_services, open_database
from storage import results
from storage.database import Database
from storage.models import AuditEvent, Patient, QuestionnaireResult
from storage.patients import Person
from tests.conftest import CONTENT_DIR, load_content

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    database = Database(f"sqlite:///{tmp_path / 'results.db'}")
    database.upgrade()
    with database.transaction() as session:
        patient = Patient(telegram_user_id=1, chat_id=1, locale="en", timezone="UTC", status="active", created_at=NOW)
        session.add(patient)
        session.flush()
        yield session
    database.dispose()


def result(
    questionnaire: str, title: str, shown: str, total: float, change: float | None, days: int
) -> QuestionnaireResult:
    occasion = "baseline" if change is None else f"week-{days // 7}"
    return QuestionnaireResult(
        patient_id=1, questionnaire=questionnaire, title=title, occasion=occasion,
        answers={}, subscales={}, total=total, shown=shown, band=None, change=change,
        created_at=NOW + timedelta(days=days),
    )  # fmt: skip


def test_latest_results_give_one_line_per_questionnaire_with_the_change_since_baseline(session: Session) -> None:
    results.save_result(session, result("phq9", "PHQ-9", "9", 9, None, 0))
    results.save_result(session, result("peg", "PEG", "6.3", 6.33, None, 0))
    results.save_result(session, result("phq9", "PHQ-9", "12", 12, 3, 7))
    results.save_result(session, result("peg", "PEG", "4.8", 4.83, -1.5, 7))
    summaries = results.latest_results(session, 1)
    assert [(s.id, s.title, s.score, s.change, s.occasion) for s in summaries] == [
        ("peg", "PEG", "4.8", "-1.5", "week-1"),
        ("phq9", "PHQ-9", "12", "+3", "week-1"),
    ]
    assert results.latest_results(session, 2) == []
    audited = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert audited == ["questionnaire_completed"] * 4


def flag_lines(session: Session) -> list[str]:
    """Open flags as the guides read them on the card."""
    return card.flag_lines(load_content(CONTENT_DIR, "en").for_locale(None).ui, results.open_flags(session, 1), "UTC")


def test_open_flags_until_reviewed_and_reviewing_twice_keeps_the_first(session: Session) -> None:
    first = results.flag(session, 1, "phq9-severe", "week-2", "PHQ-9 of 20 or more", NOW)
    results.flag(session, 1, "peg-rising", "week-4", "PEG rising three weeks running", NOW + timedelta(days=14))
    assert flag_lines(session) == [
        "PHQ-9 of 20 or more (week-2, 2026-03-02)",
        "PEG rising three weeks running (week-4, 2026-03-16)",
    ]
    assert first.id is not None
    reviewed = results.review_flag(session, first.id, 777, NOW + timedelta(hours=1))
    again = results.review_flag(session, first.id, 888, NOW + timedelta(hours=2))
    assert reviewed is not None and again is not None
    assert (again.reviewed_by, again.reviewed_at) == (777, NOW + timedelta(hours=1))
    assert flag_lines(session) == ["PEG rising three weeks running (week-4, 2026-03-16)"]
    assert results.review_flag(session, 999, 777, NOW) is None
    audited = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert audited == ["care_flag_raised", "care_flag_raised", "care_flag_reviewed"]


def test_score_lines_read_as_the_guides_need_them(session: Session, content: Content) -> None:
    results.save_result(session, result("phq9", "PHQ-9", "9", 9, None, 0))
    results.save_result(session, result("phq9", "PHQ-9", "12", 12, 3, 7))
    texts = content.for_locale(None).ui
    assert card.score_lines(texts, results.latest_results(session, 1), "UTC") == [
        "PHQ-9: 12, +3 since baseline (week-1, 2026-03-09)"
    ]


def test_the_patient_card_shows_latest_scores_and_open_flags(tmp_path: Path, content: Content) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'card.db'}",
        staff_chat_id=-1001,
        enrolment="open",
        eligibility_screening=False,
    )  # type: ignore[call-arg]
    database = open_database(settings)
    coach = make_services(settings, database, content, ManualClock(NOW))
    coach.coach.handle(Person(user_id=77, chat_id=77), Start())
    assert coach.desk is not None
    with database.transaction() as session:
        patient = session.exec(select(Patient)).one()
        assert patient.id is not None
        baseline = result("phq9", "PHQ-9", "21", 21, None, 0)
        results.save_result(session, QuestionnaireResult(**{**baseline.model_dump(), "patient_id": patient.id}))
        results.flag(session, patient.id, "phq9-severe", "baseline", "PHQ-9 of 20 or more", NOW)
        shown = plain(coach.desk.card(session, patient))
    assert "PHQ-9: 21, baseline (baseline, 2026-03-02)" in shown
    assert "PHQ-9 of 20 or more (baseline, 2026-03-02)" in shown
    assert "none yet" not in shown
    database.dispose()
