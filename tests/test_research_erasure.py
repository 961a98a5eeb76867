"""On a real database filled by the simulator (synthetic patients through the real coach): the
simulation is reproducible from its seed; the exports carry no Telegram ids; erasing a patient
leaves nothing of theirs anywhere in the database, only anonymous counts, with an audit entry."""

from __future__ import annotations

import asyncio
import base64
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select as raw_select
from sqlmodel import SQLModel, select

from bot.sender import Sender
from bot.transport import Delivered, Delivery
from coach.desk import StaffPost
from content.schema import Content
from dialogs.enrolment import onboarding_flow
from dialogs.events import Command, Press, Text
from paincoach.simulate import GUIDE, Options, Simulation
from research.consort import counts
from research.dataset import load
from research.erasure import erase_patient, export_patient
from research.exports import given
from research.outputs import write_exports
from storage.database import Database
from storage.models import AuditEvent, ErasureTally, OutboxMessage, Patient
from storage.patients import patient_by_code
from storage.payloads import Payload
from tests.support import migrated

OPTIONS = Options(patients=3, seed=7, days=2, enrol_over_days=1)
SECRET = "my neighbour Zebedee shouts at the wall"
NOTE = "Zebedee is a worry; talk about pacing"


def run(path: Path, content: Content) -> Simulation:
    database = migrated(f"sqlite:///{path}")
    simulation = Simulation(database, content, OPTIONS)
    simulation.run()
    return simulation


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Iterator[Simulation]:
    simulation = run(tmp_path_factory.mktemp("sim") / "trial.db", content)
    yield simulation
    simulation.database.dispose()


def test_the_simulation_went_through_the_coach(simulated: Simulation) -> None:
    with simulated.database.transaction() as session:
        patients = session.exec(select(Patient)).all()
        assert len(patients) == 3
        assert all(p.consented_at is not None and p.eligibility == "eligible" for p in patients)
        dataset = load(session, given(simulated.content.program))
    assert all(p.result("phq9", "baseline") is not None for p in dataset.participants)
    assert {p.arm for p in dataset.participants} <= {"course", "waitlist"}
    assert all(p.arm for p in dataset.participants), "allocated after the baseline"


def test_the_simulation_is_reproducible_from_its_seed(simulated: Simulation, content: Content, tmp_path: Path) -> None:
    again = run(tmp_path / "again.db", content)
    try:
        first = write_exports(simulated.database, content, tmp_path / "one", simulated.clock.now())
        second = write_exports(again.database, content, tmp_path / "two", again.clock.now())
        for one, two in zip(first, second, strict=True):
            if one.name in ("wide.csv", "long.csv", "fhir.json"):
                assert one.read_text() == two.read_text(), one.name
    finally:
        again.database.dispose()


def test_the_exports_carry_codes_only(simulated: Simulation, content: Content, tmp_path: Path) -> None:
    files = write_exports(simulated.database, content, tmp_path / "out", simulated.clock.now())
    text = "".join(path.read_text() for path in files)
    assert "P-0001" in text
    for patient in simulated.patients:
        assert str(patient.person.user_id) not in text
    assert str(GUIDE) not in text


class Accepts:
    """A Telegram that takes every message: what was sent, as (chat, kind)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        self.sent.append((chat_id, payload.kind))
        return Delivered(len(self.sent))


async def deliver_all(simulated: Simulation) -> list[tuple[int, str]]:
    """The real outbox sender, once through everything queued."""
    telegram = Accepts()
    await Sender(simulated.database, telegram, simulated.clock, rate=10_000).drain()
    return telegram.sent


def test_every_export_carries_the_consent_and_content_versions(
    simulated: Simulation, content: Content, tmp_path: Path
) -> None:
    """Issue 12: the versions each patient consented under, read from the database, are in
    wide.csv, long.csv, fhir.json and their own export (`patient export`, /privacy)."""
    consent = onboarding_flow(content.for_locale(None)).version
    assert consent and content.version.startswith("sha256:")
    versions = (consent, content.version)
    written = write_exports(simulated.database, content, tmp_path / "out", simulated.clock.now())
    files = {path.name: path for path in written}
    wide = list(csv.DictReader(files["wide.csv"].open()))
    assert len(wide) == 3 and {(r["consent_version"], r["content_version"]) for r in wide} == {versions}
    long = list(csv.DictReader(files["long.csv"].open()))
    assert long and {(r["consent_version"], r["content_version"]) for r in long} == {versions}
    bundle = json.loads(files["fhir.json"].read_text())
    responses = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    assert responses and all({t["code"] for t in r["meta"]["tag"]} == set(versions) for r in responses)
    with simulated.database.transaction() as session:
        patient = patient_by_code(session, "P-0001")
        assert patient is not None
        own = export_patient(session, patient)
    assert (own["patient"]["consent_version"], own["patient"]["content_version"]) == versions
    assert [(c["decision"], c["consent_version"], c["content_version"]) for c in own["consent_record"]] == [
        ("given", *versions)
    ]


def every_value(database: Database) -> list[tuple[str, str, str]]:
    """Every value in every table, as text: (table, column, value)."""
    found = []
    with database.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(raw_select(table)).mappings():
                for column, value in row.items():
                    if value is not None:
                        found.append((table.name, column, json.dumps(value, default=str, ensure_ascii=False)))
    return found


def test_erasure_leaves_nothing_behind(simulated: Simulation, content: Content) -> None:
    services, anna = simulated.services, simulated.patients[0]
    simulated.send(anna, Command("guide"))
    simulated.send(anna, Text(SECRET))
    with simulated.database.transaction() as session:
        patient = patient_by_code(session, "P-0001")
        assert patient is not None and patient.id is not None
        pid, chat = patient.id, patient.chat_id
    assert services.commands is not None
    services.commands.command(None, StaffPost(GUIDE, "Guide", 999), "note", f"P-0001 {NOTE}")
    services.commands.command(None, StaffPost(GUIDE, "Guide", 1000), "checkin", "P-0001 phone 12")
    before = every_value(simulated.database)
    assert any("Zebedee" in value for _, _, value in before), "the patient's words were stored"
    with simulated.database.transaction() as session:
        flow_before = counts(load(session, given(content.program)), content.program)
        patient = patient_by_code(session, "P-0001")
        assert patient is not None
        exported = export_patient(session, patient)
    assert exported["patient"]["code"] == "P-0001" and exported["clinical_note"][0]["text"] == NOTE
    assert str(anna.person.user_id) not in json.dumps(exported, default=str)

    with simulated.database.transaction() as session:
        patient = patient_by_code(session, "P-0001")
        assert patient is not None
        erase_patient(session, patient, content.program, "cli", simulated.clock.now())

    for table, column, value in every_value(simulated.database):
        for needle in ("P-0001", "Zebedee", str(anna.person.user_id)):
            assert needle not in value, f"{table}.{column} still has {needle}"
        if column in ("patient_id", "topic_of"):
            assert value != str(pid), f"{table}.{column} still names the patient"
        if column == "chat_id":
            assert value != str(chat), f"{table}.{column} still names their chat"
    with simulated.database.transaction() as session:
        assert patient_by_code(session, "P-0002") is not None, "the others are untouched"
        tallies = {t.stage: t.count for t in session.exec(select(ErasureTally)).all()}
        assert (
            tallies["consented"] == 1
            and tallies["erased"] == 1
            and tallies["minutes:" + (next(k.partition(":")[2] for k in tallies if k.startswith("allocated:")))] >= 12
        )
        flow_after = counts(load(session, given(content.program)), content.program)
        entry = session.exec(select(AuditEvent).where(AuditEvent.action == "patient_erased")).one()
        assert entry.patient_id is None and entry.detail["rows_patient"] == 1
    assert flow_after["consented"] == flow_before["consented"] == 3, "the flow keeps them as a count"
    assert flow_after["joined"] == 3


def test_a_patient_exports_and_deletes_their_own_data_with_privacy(simulated: Simulation) -> None:
    ben = simulated.patients[1]
    simulated.send(ben, Command("privacy"))
    _, row, buttons = simulated.state_of(ben)  # type: ignore[misc]
    assert row.code == "P-0002"
    choices = {data.partition(":")[2]: data for _, data in buttons}
    assert set(choices) == {"export", "erase", "back"}
    simulated.send(ben, Press(choices["export"]))
    with simulated.database.transaction() as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == row.chat_id)).all()
        patient = patient_by_code(session, "P-0002")
        assert patient is not None
        stored = export_patient(session, patient)
    files = [m.payload for m in sent if m.kind == "document" and m.payload["filename"].startswith("my-data-")]
    assert [f["filename"] for f in files] == ["my-data-P-0002.json"], "one file, not messages of JSON"
    assert not any("<pre>" in m.payload.get("text", "") for m in sent)
    exported = json.loads(base64.b64decode(files[0]["document"]))
    stored = json.loads(json.dumps(stored, default=str))
    assert set(exported) == set(stored), "the tables `paincoach patient export` gives"
    later = ("outbox", "audit_event")  # the file's own row and the export's audit entry come after it
    assert {k: v for k, v in exported.items() if k not in later} == {k: v for k, v in stored.items() if k not in later}
    assert exported["patient"]["code"] == "P-0002" and "questionnaire_result" in exported
    assert "P-0002" in files[0]["caption"]

    simulated.send(ben, Command("privacy"))
    _, _, buttons = simulated.state_of(ben)  # type: ignore[misc]
    simulated.send(ben, Press(next(d for _, d in buttons if d.endswith(":erase"))))
    _, _, buttons = simulated.state_of(ben)  # type: ignore[misc]
    choices = {data.partition(":")[2]: data for _, data in buttons}
    assert set(choices) == {"erase_yes", "erase_no"}, "asked to confirm first"
    simulated.send(ben, Press(choices["erase_no"]))
    assert simulated.state_of(ben) is not None, "No keeps everything"

    simulated.send(ben, Command("privacy"))
    _, _, buttons = simulated.state_of(ben)  # type: ignore[misc]
    simulated.send(ben, Press(next(d for _, d in buttons if d.endswith(":erase"))))
    _, _, buttons = simulated.state_of(ben)  # type: ignore[misc]
    reply = simulated.services.coach.handle(ben.person, Press(next(d for _, d in buttons if d.endswith(":erase_yes"))))
    assert reply.toast is not None and "deleted" in reply.toast
    assert simulated.state_of(ben) is None
    with simulated.database.transaction() as session:
        left = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == ben.person.chat_id)).all()
        assert [(m.patient_id, m.payload.get("forget")) for m in left] == [(None, True)], "only the goodbye"
        assert "deleted" in left[0].payload["text"] and "P-0002" not in left[0].payload["text"]
    sent = asyncio.run(deliver_all(simulated))
    assert (ben.person.chat_id, "message") in sent, "the goodbye went to them"
    for table, column, value in every_value(simulated.database):
        assert "P-0002" not in value and str(ben.person.user_id) not in value, f"{table}.{column}"
    with simulated.database.transaction() as session:
        entry = session.exec(select(AuditEvent).where(AuditEvent.action == "patient_erased",
                                                      AuditEvent.actor == "patient")).one()  # fmt: skip
        assert entry.patient_id is None
