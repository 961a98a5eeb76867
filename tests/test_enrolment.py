"""Enrolment below the transport: allocations written once and audited (both databases), codes
used up safely, /invite's arguments, the staff card's enrolment facts, the screening flow per site,
and the waiting list in the engine (its notes, no lessons, then the course on its own timetable)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from content.schema import Content
from dialogs.actions import Allocate, RecordConsent, RecordScreening, SaveContact
from dialogs.allocation import Design, allocate
from dialogs.desk import card as cards
from dialogs.desk import commands
from dialogs.enrolment import first_flow, screening_flow
from dialogs.events import Due, Start
from dialogs.router import ROUTER
from dialogs.stages.trial import TrialStage
from dialogs.state import PatientState, Status
from dialogs.turn import Turn
from storage import enrolment as store
from storage.database import Database
from storage.models import Allocation, AuditEvent, Patient, TrialSeed
from storage.patients import Defaults, Joining, Person, enrol
from tests.conversation import NOW, EnginePatient

DEFAULTS = Defaults("en", "UTC", "other", frozenset({"en"}))


def patients(session: object, count: int, start: int = 1) -> list[Patient]:
    return [
        enrol(session, Person(start + n, start + n), DEFAULTS, NOW, Joining(programme="trial"))  # type: ignore[arg-type]
        for n in range(count)
    ]


# -- allocation in storage -------------------------------------------------------------------


def test_each_allocation_is_written_once_audited_and_reproducible_from_the_stored_seed(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    design = Design((1, 1), (4, 6))
    try:
        with database.transaction() as session:
            people = patients(session, 10)
            made = [store.allocate_patient(session, p, "site=north", design, NOW) for p in people]
            with pytest.raises(store.AlreadyAllocated):
                store.allocate_patient(session, people[0], "site=north", design, NOW)
        with database.transaction() as session:
            seed = session.get(TrialSeed, store.TRIAL)
            assert seed is not None and len(seed.seed) == 64
            rows = session.exec(select(Allocation).order_by(col(Allocation.sequence))).all()
            assert [r.sequence for r in rows] == list(range(10))
            assert [r.arm for r in rows] == [allocate(seed.seed, "site=north", n, design) for n in range(10)]
            assert [p.arm for p in session.exec(select(Patient).order_by(col(Patient.id))).all()] == [
                m.arm for m in made
            ]
            audited = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "allocated")).all()
            assert len(audited) == 10 and {"stratum", "sequence", "arm"} <= set(audited[0].detail)
            assert store.verify_allocations(session) == []
            counts = Counter(r.arm for r in rows)
            assert abs(counts["course"] - counts["waitlist"]) <= 6, "never further apart than one block"
    finally:
        database.dispose()


def test_a_changed_setting_never_changes_a_running_trials_list(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.upgrade()
    try:
        with database.transaction() as session:
            first = patients(session, 4)
            [store.allocate_patient(session, p, "all", Design((1, 1), (4,)), NOW) for p in first]
            later = patients(session, 4, start=100)
            [store.allocate_patient(session, p, "all", Design((2, 1), (3,)), NOW) for p in later]
            seed = session.get(TrialSeed, store.TRIAL)
            assert seed is not None and (seed.ratio, seed.block_sizes) == ("1:1", "4")
            arms = [a.arm for a in session.exec(select(Allocation).order_by(col(Allocation.sequence))).all()]
            assert Counter(arms[:4]) == Counter(arms[4:]) == {"course": 2, "waitlist": 2}
    finally:
        database.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["all", "site=a", "site=b"]), min_size=1, max_size=24))
def test_strata_are_balanced_within_every_block_however_people_arrive(tmp_path: object, arrivals: list[str]) -> None:
    database = Database("sqlite://")
    database.upgrade()
    design = Design((1, 1), (2, 4))
    try:
        with database.transaction() as session:
            for n, stratum in enumerate(arrivals):
                (person,) = patients(session, 1, start=n + 1)
                store.allocate_patient(session, person, stratum, design, NOW)
            seed = session.get(TrialSeed, store.TRIAL)
            assert seed is not None
            for stratum in set(arrivals):
                rows = session.exec(
                    select(Allocation).where(Allocation.stratum == stratum).order_by(col(Allocation.sequence))
                ).all()
                assert [r.sequence for r in rows] == list(range(len(rows))), "no gaps, no repeats"
                assert [r.arm for r in rows] == [allocate(seed.seed, stratum, r.sequence, design) for r in rows]
    finally:
        database.dispose()


def test_a_code_is_used_up_by_its_last_use_and_refused_after(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/i.db")
    database.upgrade()
    try:
        with database.transaction() as session:
            invitation = store.create_invitation(session, NOW, actor="test", uses=2, site="north")
            code = invitation.code
        for _ in range(2):
            with database.transaction() as session:
                assert isinstance(store.use_invitation(session, code, NOW), type(invitation))
        with database.transaction() as session:
            assert store.use_invitation(session, code, NOW) is store.Refusal.USED_UP
            assert store.use_invitation(session, code + "x", NOW) is store.Refusal.UNKNOWN
            assert store.use_invitation(session, "", NOW) is store.Refusal.MISSING
        codes = set()
        with database.transaction() as session:
            for _ in range(50):
                codes.add(store.create_invitation(session, NOW, actor="test").code)
        assert len(codes) == 50 and all(len(c) == 16 for c in codes)
    finally:
        database.dispose()


# -- /invite, the card ---------------------------------------------------------------------


def test_invite_arguments_are_read_or_answered_with_how_to_use_it() -> None:
    assert commands.read("invite", "", 1) == commands.CreateInvite()
    assert commands.read("invite", "uses 10 days 30 site North note room 4 poster", 1) == commands.CreateInvite(
        10, 30, "north", "room 4 poster"
    )
    for bad in ("uses 0", "uses many", "days 400", "site", "colour blue", "uses 2 uses 3", "site a/b"):
        assert commands.read("invite", bad, 1) == commands.Usage("invite"), bad
    assert commands.read("enrolment", "", 1) == commands.ShowEnrolment()


def test_the_card_shows_the_enrolment_facts_and_the_contact_but_patient_does_not(content: Content) -> None:
    texts = content.for_locale(None).ui
    facts = cards.Patient(
        code="P-0042", status="active", consented_at=NOW, lessons_done=(), in_progress=None, last_done=None,
        enrolment=cards.Enrolled(site="north", eligibility="eligible", consent_version="2026-12.1", trial=True,
                                 arm="waitlist", contact="Dr Lee 020 7946 0000"),
    )  # fmt: skip
    shown = cards.card(texts, facts, "UTC")
    assert "Site: north" in shown and "Eligibility: eligible" in shown and "Consent: 2026-12.1" in shown
    assert "Arm: waitlist" in shown and "Dr Lee 020 7946 0000" in shown
    case = cards.case(texts, cards.Case(facts, None, False, None, 0, ()), NOW, "UTC")
    assert "Arm: waitlist" in case and "Dr Lee" not in case
    service = replace(facts, enrolment=cards.Enrolled(site=None, eligibility=None, consent_version=None))
    assert "Arm" not in cards.card(texts, service, "UTC"), "no arm in service mode"


# -- the engine ----------------------------------------------------------------------------


def test_the_screening_comes_first_only_while_it_is_to_do_and_a_site_may_have_its_own(content: Content) -> None:
    texts = content.for_locale("en")
    state = PatientState(code="P-0001", locale="en")
    assert first_flow(texts, state).kind == "onboarding", "not screened (screening off, or joined before it)"
    assert first_flow(texts, replace(state, eligibility="pending")).id == "eligibility"
    assert first_flow(texts, replace(state, eligibility="eligible")).kind == "onboarding"
    general = texts.flows["eligibility"]
    north = general.model_copy(update={"id": "eligibility-north", "site": "north"})
    with_site = texts.model_copy(update={"flows": {**texts.flows, north.id: north}})
    assert screening_flow(with_site, "north") == north
    assert screening_flow(with_site, "south") == general
    assert screening_flow(with_site, None) == general


def test_screening_answers_decision_and_contact_become_actions_not_state(content: Content) -> None:
    patient = EnginePatient(content, PatientState(code="P-0001", locale="en", eligibility="pending"))
    patient.do(Start())
    for label in ("OK, ask away", "Yes, I'm 18 or older", "Yes, a doctor told me", "Yes, three months or more",
                  "No, I don't", "Yes, I do"):  # fmt: skip
        patient.press(label)
    patient.type("Dr Lee 020 7946 0000")
    assert SaveContact("Dr Lee 020 7946 0000") in patient.actions
    screening = next(a for a in patient.actions if isinstance(a, RecordScreening))
    assert (screening.decision, screening.reason) == ("eligible", "eligible")
    assert "Dr Lee" not in str(patient.state), "the contact is never in the engine's state"
    assert patient.state.flow == "onboarding" and patient.state.eligibility == "eligible"
    while "I agree, let's start" not in patient.labels():
        patient.press_first()
    patient.press("I agree, let's start")
    assert RecordConsent(True, "2026-12.1") in patient.actions


def trial_patient(content: Content, **changes: object) -> EnginePatient:
    state = PatientState(
        code="P-0003", locale="en", status=Status.ACTIVE, consented_at=NOW, programme="trial", flow="menu",
        step="main", country="gb",
    )  # fmt: skip
    return EnginePatient(content, replace(state, **changes))  # type: ignore[arg-type]


def test_the_baseline_done_asks_the_coach_to_allocate_once(content: Content) -> None:
    patient = trial_patient(content)
    before = patient.state
    done = ("baseline/phq9", "baseline/gad7", "baseline/peg")
    after = replace(before, surveys_done=done, scores={"phq9": [{"total": "12", "occasion": "baseline"}]})
    turn = Turn(after, content, NOW, ROUTER)
    TrialStage().after(turn, before)
    assert turn.actions == [Allocate(None, "moderate")]
    again = Turn(after, content, NOW, ROUTER)
    TrialStage().after(again, after)
    assert again.actions == [], "only when the baseline is newly done"


def test_the_waiting_list_waits_kindly_with_no_lessons_then_gets_the_course_on_its_own_timetable(
    content: Content,
) -> None:
    patient = trial_patient(content)
    patient.command("menu")
    assert any("once the first questionnaires are done" in t for t in patient.texts), "no lesson before allocation"
    patient.do(Due("allocated", "waitlist"))
    assert patient.state.arm == "waitlist" and patient.state.lessons_from is None
    assert any("waiting list" in t for t in patient.texts)
    assert not any("lesson" in label.lower() for label in patient.labels())
    patient.command("lesson")
    assert any("waiting list" in t for t in patient.texts)

    follow_up_done = tuple(f"follow-up/{q}" for q in ("phq9", "gad7", "peg"))
    later = NOW + timedelta(days=85)
    patient.state = replace(patient.state, surveys_done=patient.state.surveys_done + follow_up_done)
    patient.now = later
    patient.command("menu")
    assert "Start the course" in patient.labels()
    patient.press("Start the course")
    assert patient.state.course_from == later
    assert any("Lesson 1" in t for t in patient.texts)
    assert any("start lesson 1" in label.lower() for label in patient.labels())


def test_the_course_arm_starts_its_lessons_at_allocation(content: Content) -> None:
    patient = trial_patient(content)
    allocated = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    patient.now = allocated
    patient.do(Due("allocated", "course"))
    assert (patient.state.arm, patient.state.course_from) == ("course", allocated)
    assert any("start lesson 1" in label.lower() for label in patient.labels())


def test_strata_are_the_factors_the_clinic_chose(content: Content) -> None:
    from coach.enrolment import Enrolment, Policy

    action = Allocate("north", "moderate")
    assert Enrolment(content, Policy(programme="trial")).stratum(action) == "all"
    assert Enrolment(content, Policy(stratify=("site",))).stratum(action) == "site=north"
    assert Enrolment(content, Policy(stratify=("site", "phq9"))).stratum(action) == "site=north|phq9=moderate"
    assert Enrolment(content, Policy(stratify=("phq9",))).stratum(Allocate(None, None)) == "phq9=none"
