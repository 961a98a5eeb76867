"""Enrolment end to end over the fake Bot API: an invitation from /invite, the eligibility
screening, consent with its versions, the baseline, allocation, then lesson 1 or the waiting list;
every kind of bad code; someone not eligible; and a yes to current plans raising an urgent alert."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from clock import ManualClock
from content import load_content
from dialogs.allocation import Design, sequence_of
from sandbox.botapi import FakeTelegram, FakeUser
from storage import enrolment as store
from storage.database import Database
from storage.models import (
    Alert,
    Allocation,
    Answer,
    AuditEvent,
    ConsentRecord,
    DialogState,
    Invitation,
    Patient,
    Screening,
    TrialSeed,
)
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap
from tests.test_e2e import label_with, walk_to_button
from tests.test_guide import staff_says

ADMIN = 900
CONTACT = "Dr Quentin Lee, Park Surgery, 020 7946 0000"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def rows(url: str, model: type, *where: object) -> list:  # type: ignore[type-arg]
    database = Database(url)
    try:
        with database.transaction() as session:
            query = select(model).where(*where) if where else select(model)
            # Without an ORDER BY, PostgreSQL returns rows in heap order, which an UPDATE changes.
            query = query.order_by(*model.__table__.primary_key.columns)
            found = list(session.exec(query).all())
            for row in found:
                session.expunge(row)
            return found
    finally:
        database.dispose()


def write(url: str, *objects: object) -> None:
    database = Database(url)
    try:
        with database.transaction() as session:
            for thing in objects:
                session.add(thing)
    finally:
        database.dispose()


async def start_with(user: FakeUser, telegram: FakeTelegram, payload: str) -> None:
    user.mark()
    user.send_text(f"/start {payload}".strip())
    await user.wait_for_text("", timeout=15)
    await settle(telegram)


async def screen_eligible(user: FakeUser, telegram: FakeTelegram) -> None:
    """The five questions, each answered so the course is right for them, and the contact typed."""
    await tap(user, telegram, "OK, ask away")
    await tap(user, telegram, "Yes, I'm 18 or older")
    await tap(user, telegram, "Yes, a doctor told me")
    await tap(user, telegram, "Yes, three months or more")
    assert "current plans to end your life" in last(user).text
    await tap(user, telegram, "No, I don't")
    await tap(user, telegram, "Yes, I do")
    assert "name and phone number" in last(user).text
    await say(user, telegram, CONTACT)


async def consent(user: FakeUser, telegram: FakeTelegram) -> None:
    await walk_to_button(user, telegram, "United Kingdom")
    await tap(user, telegram, "United Kingdom")
    await walk_to_button(user, telegram, "I agree")
    await tap(user, telegram, label_with(user, "I agree"))


async def baseline(user: FakeUser, telegram: FakeTelegram) -> None:
    """The baseline questionnaires (PHQ-9, GAD-7, PEG), answering the first option each time."""
    await tap(user, telegram, label_with(user, "check-in"))
    for _ in range(40):
        if any("place on the" in m.text for m in user.messages[-3:]):
            return
        labels = [text for row in last(user).buttons for text, _ in row]
        assert labels, f"a questionnaire item has buttons: {last(user).text[:120]!r}"
        await tap(user, telegram, labels[0])
    raise AssertionError(f"never allocated; last: {last(user).text[:200]!r}")


def seed_giving(first: str, second: str) -> str:
    """A seed whose first two allocations (stratum "all", 1:1, blocks of 4 and 6) are these arms."""
    design = Design((1, 1), (4, 6))
    return next(f"test-{n}" for n in range(1000) if sequence_of(f"test-{n}", "all", 2, design) == [first, second])


async def test_invite_screening_consent_baseline_allocation_then_lesson_one_or_the_waiting_list(
    telegram: FakeTelegram, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(
        telegram, tmp_path, database_url=database_url, admin_ids=str(ADMIN), enrolment="invite",
        eligibility_screening=True, programme_mode="trial",
    )  # fmt: skip
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        write(database_url, TrialSeed(name="trial", seed=seed_giving("course", "waitlist"), ratio="1:1",
                                      block_sizes="4,6", created_at=ManualClock().now()))  # fmt: skip
        await staff_says(staff, telegram, ADMIN, "/invite uses 2 days 30 site north note waiting room poster")
        made = staff.messages[-1].text
        found = re.search(r"https://t\.me/paincoach_test_bot\?start=([A-Za-z0-9_-]+)", made)
        assert found, f"the link names the bot, as getMe said: {made!r}"
        assert "2 uses" in made and "site north" in made
        code = found.group(1)
        assert len(code) >= 16, "unguessable: 96 random bits"

        anna, ben = telegram.user(7001, "Anna"), telegram.user(7002, "Ben")
        for user in (anna, ben):
            await start_with(user, telegram, code)
            assert "five short questions" in last(user).text
            await screen_eligible(user, telegram)
            await consent(user, telegram)
            assert any("decided at random" in m.text for m in user.messages[-3:]), "trial: no lesson before baseline"
            await baseline(user, telegram)

        assert any("place on the course <b>now</b>" in m.html or "course now" in m.text for m in anna.messages)
        assert any("start lesson 1" in text.lower() for row in last(anna).buttons for text, _ in row), (
            "lesson 1 is open"
        )
        assert any("waiting list" in m.text for m in ben.messages[-3:])
        ben_menu = [text for row in last(ben).buttons for text, _ in row]
        assert not any("lesson" in text.lower() or "reading" in text.lower() for text in ben_menu), "no course yet"
        assert "waiting list" in last(ben).text.lower()
        ben.mark()
        ben.send_command("/lesson")
        await ben.wait_for_text("waiting list", timeout=15)
        await settle(telegram)

        await staff_says(staff, telegram, ADMIN, "/enrolment")
        counts = staff.messages[-1].text
        assert "Joined with an invitation: 2" in counts
        assert "Screened: 2 (eligible 2, not eligible 0, referred 0)" in counts
        assert "Consented: 2" in counts and "(course 1, waiting list 1)" in counts
        await staff_says(staff, telegram, ADMIN, "/patient P-0002")
        card = staff.messages[-1].text
        assert "Site: north" in card and "Eligibility: eligible" in card
        assert "Consent: 2026-12.1" in card and "Arm: waitlist" in card
        assert CONTACT not in card, "/patient does not show the emergency contact (the card alone does)"

    patients = rows(database_url, Patient)
    assert [(p.code, p.site, p.programme, p.arm, p.eligibility) for p in patients] == [
        ("P-0001", "north", "trial", "course", "eligible"),
        ("P-0002", "north", "trial", "waitlist", "eligible"),
    ]
    content = load_content(settings.content_dir, "en")
    assert {(p.consent_version, p.content_version) for p in patients} == {("2026-12.1", content.version)}
    assert content.version.startswith("sha256:")
    consents = rows(database_url, ConsentRecord)
    assert [(c.decision, c.consent_version, c.content_version) for c in consents] == [
        ("given", "2026-12.1", content.version)
    ] * 2
    screenings = rows(database_url, Screening)
    assert [s.decision for s in screenings] == ["eligible", "eligible"]
    assert screenings[0].answers == {
        "adult": "yes", "diagnosis": "yes", "duration": "yes", "current_plans": "no", "has_contact": "yes"
    }  # fmt: skip
    allocations = rows(database_url, Allocation)
    assert [(a.stratum, a.sequence, a.arm) for a in allocations] == [("all", 0, "course"), ("all", 1, "waitlist")]
    audited = [e.action for e in rows(database_url, AuditEvent)]
    assert audited.count("allocated") == 2 and audited.count("invitation_used") == 2
    invitation = rows(database_url, Invitation)[0]
    assert (invitation.uses, invitation.max_uses, invitation.site) == (2, 2, "north")

    # The contact: on the patient's record (patient.emergency_contact), and nowhere else.
    answers = [a.value for a in rows(database_url, Answer)]
    states = [str(s.data) for s in rows(database_url, DialogState)]
    assert not any(CONTACT in value for value in answers + states + [str(s.answers) for s in screenings])
    assert CONTACT not in caplog.text and "Quentin" not in caplog.text
    assert [p.emergency_contact for p in patients] == [CONTACT, CONTACT]


async def test_expired_revoked_used_up_forged_and_missing_codes_are_each_answered_kindly_and_store_no_one(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path, enrolment="invite", eligibility_screening=True)
    async with running_coach(settings, clock) as coach:
        url = settings.database_url
        with coach.database.transaction() as session:
            now = clock.now()
            expired = store.create_invitation(session, now - timedelta(days=10), actor="test",
                                              expires_at=now - timedelta(days=1))  # fmt: skip
            revoked = store.create_invitation(session, now, actor="test")
            single = store.create_invitation(session, now, actor="test", uses=1)
            codes = (expired.code, revoked.code, single.code)
        with coach.database.transaction() as session:
            store.revoke(session, codes[1], now, actor="test")

        first = telegram.user(7101)
        await start_with(first, telegram, codes[2])
        assert "five short questions" in last(first).text, "a valid code: the screening begins"

        cases = [
            (codes[0], "has expired"),
            (codes[1], "no longer in use"),
            (codes[2], "already been used"),
            ("ZmFrZS1jb2RlLWZvcmdlZA", "couldn't find that invitation"),
            ("", "offered by invitation"),
        ]
        for n, (code, answer) in enumerate(cases):
            user = telegram.user(7200 + n)
            await start_with(user, telegram, code)
            assert answer in last(user).text, (code, last(user).text)
            assert "ask" in last(user).text.lower(), "it says what to do instead"
            assert not last(user).buttons
        stranger = telegram.user(7300)
        stranger.mark()
        stranger.send_text("hello, can I join?")
        await stranger.wait_for_text("offered by invitation", timeout=15)
        await settle(telegram)

    assert [p.telegram_user_id for p in rows(url, Patient)] == [7101], "nobody else was stored"
    refused = [e.detail["reason"] for e in rows(url, AuditEvent, col(AuditEvent.action) == "invitation_refused")]
    assert refused == ["expired", "revoked", "used_up", "unknown", "missing", "missing"]


async def test_someone_not_eligible_is_told_kindly_where_to_go_and_is_never_enrolled(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, eligibility_screening=True)  # ENROLMENT=open
    async with running_coach(settings, ManualClock()):
        user = telegram.user(7401)
        await start_with(user, telegram, "")
        await tap(user, telegram, "OK, ask away")
        await tap(user, telegram, "Yes, I'm 18 or older")
        await tap(user, telegram, "No, or not yet")
        assert "isn't the right fit just now" in last(user).text
        assert "family doctor" in last(user).text
        for again in ("/start", "/lesson", "hello?"):
            user.mark()
            user.send_text(again)
            await user.wait_for_text("isn't the right fit", timeout=15)
            await settle(telegram)
    url = settings.database_url
    patient = rows(url, Patient)[0]
    assert (patient.status, patient.eligibility, patient.consented_at) == ("not_eligible", "not_eligible", None)
    screening = rows(url, Screening)[0]
    assert (screening.decision, screening.reason) == ("not_eligible", "no-diagnosis")
    assert screening.answers == {"adult": "yes", "diagnosis": "no"}
    assert rows(url, ConsentRecord) == []


async def test_a_yes_to_current_plans_raises_an_urgent_alert_and_a_referral_never_enrolment(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, eligibility_screening=True, default_country="gb")
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings, ManualClock()):
        user = telegram.user(7501, "Dee")
        await start_with(user, telegram, "")
        await tap(user, telegram, "OK, ask away")
        await tap(user, telegram, "Yes, I'm 18 or older")
        await tap(user, telegram, "Yes, a doctor told me")
        await tap(user, telegram, "Yes, three months or more")
        await tap(user, telegram, "Yes, I do")
        referral = last(user)
        assert "worried about your safety" in referral.text and "116 123" in referral.text
        assert not referral.buttons, "no onboarding, no consent"
        alert = await staff.wait_for_text("URGENT", timeout=15)
        assert "P-0001" in alert.text and "current plans" in alert.text and "Dee" not in alert.text
        user.mark()
        user.send_command("/start")
        await user.wait_for_text("116 123", timeout=15)
        await settle(telegram)
    url = settings.database_url
    patient = rows(url, Patient)[0]
    assert (patient.status, patient.eligibility, patient.consented_at) == ("not_eligible", "referred", None)
    assert [a.level for a in rows(url, Alert)] == ["urgent"]
    assert rows(url, Screening)[0].decision == "referred"


async def test_progress_before_allocation_and_on_the_waiting_list_says_when_the_lessons_open(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    """A trial lesson has no opening date before allocation nor on the waiting list: /progress
    says so in words (it once failed on the missing date)."""
    settings = settings_for(telegram, tmp_path, database_url=database_url, programme_mode="trial")
    async with running_coach(settings, ManualClock()):
        write(database_url, TrialSeed(name="trial", seed=seed_giving("waitlist", "course"), ratio="1:1",
                                      block_sizes="4,6", created_at=ManualClock().now()))  # fmt: skip
        cleo = telegram.user(7003, "Cleo")
        await start_with(cleo, telegram, "")
        await consent(cleo, telegram)
        assert any("decided at random" in m.text for m in cleo.messages[-3:])

        cleo.mark()
        cleo.send_command("/progress")
        await cleo.wait_for_text("Your progress", timeout=15)
        await settle(telegram)
        before = next(m.text for m in reversed(cleo.messages) if "Your progress" in m.text)
        assert before.count("once the first questionnaires are done") == 5, before

        await baseline(cleo, telegram)
        assert any("waiting list" in m.text for m in cleo.messages[-3:])
        cleo.mark()
        cleo.send_command("/progress")
        await cleo.wait_for_text("Your progress", timeout=15)
        await settle(telegram)
        text = next(m.text for m in reversed(cleo.messages) if "Your progress" in m.text)
        assert text.count("yours after the waiting list") == 5, text
        assert "opens on" not in text
    assert [p.arm for p in rows(database_url, Patient)] == ["waitlist"]
