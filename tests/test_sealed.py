"""Free text sealed at rest (storage/sealed.py): what a patient and a guide write is not in the
database file, yet the coach reads it; keys from DATA_KEY, a development key only for SQLite,
rotation with `paincoach keys rotate`, and the migration that seals rows written before."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import select

from clock import ManualClock
from paincoach.settings import SettingsError, load_settings
from sandbox.botapi import FakeTelegram
from storage.database import Database, alembic_config
from storage.keys import rotate, sealed_columns
from storage.models import Answer, ClinicalNote, DialogState, OutboxMessage, ToolEntry
from storage.sealed import DataKeyError, Keyring, development_keyring, keyring_for
from tests.conftest import ROOT
from tests.e2e import STAFF_CHAT, last, running_coach, settings_for, settle, walk_until
from tests.test_e2e import label_with, onboard
from tests.test_guide import ADMIN, GUIDE, ask_guide, only_topic, staff_says, with_guide

REFLECTION = "Kettlewhistle mornings make my knees ache"
QUESTION = "Is the quokkabridge stretch safe for me?"
REPLY = "Yes, try the marmaladestep version first"
NOTE = "Sleeps badly; zanzibarfence pacing next week"
WORDS = (REFLECTION, QUESTION, REPLY, NOTE)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def database_bytes(path: Path) -> bytes:
    """The SQLite file and its write-ahead log, as a copy of them would leak."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_a_patients_words_are_not_in_the_database_file_but_the_coach_reads_them(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5301, "Rosa")
        await onboard(user, telegram)
        await tap_lesson(user, telegram)
        await walk_until(user, telegram, "finished lesson 1", answer=REFLECTION)
        await ask_guide(user, telegram, staff, QUESTION)
        await staff_says(staff, telegram, GUIDE, REPLY, only_topic(staff), answer_in=user)
        assert last(user).text.endswith(REPLY), "the guide's words, sealed in the outbox, reached the patient"
        await staff_says(staff, telegram, GUIDE, f"/note P-0001 {NOTE}")
        await settle(telegram)

    leaked = database_bytes(tmp_path / "coach.db")
    assert len(leaked) > 10_000
    for words in WORDS:
        for part in [words, *words.split()]:
            if len(part) >= 9:  # the made-up words, and each text whole
                assert part.encode() not in leaked, f"{part!r} is readable in the database file"

    database = Database(settings.database_url, settings.keyring)
    try:
        with database.transaction() as session:
            answers = [a.value for a in session.exec(select(Answer)).all()]
            notes = [n.text for n in session.exec(select(ClinicalNote)).all()]
            state = session.exec(select(DialogState)).one()
            sent = [json.dumps(o.payload, ensure_ascii=False) for o in session.exec(select(OutboxMessage)).all()]
    finally:
        database.dispose()
    assert REFLECTION in answers, "the coach reads the answer back"
    assert notes == [NOTE]
    assert REFLECTION in json.dumps(state.data, ensure_ascii=False), "the dialog state keeps it, sealed"
    assert any(REPLY in payload for payload in sent)

    other = Database(settings.database_url, Keyring([Keyring.generate()]))
    try:
        with pytest.raises(DataKeyError, match="none of the keys opens"), other.transaction() as session:
            session.exec(select(Answer)).all()
    finally:
        other.dispose()


async def tap_lesson(user: object, telegram: FakeTelegram) -> None:
    from tests.e2e import tap

    await tap(user, telegram, label_with(user, "lesson 1"))  # type: ignore[arg-type]


# -- keys ---------------------------------------------------------------------------------


def test_a_keyring_seals_with_the_newest_and_opens_with_any() -> None:
    old, new = Keyring.generate(), Keyring.generate()
    sealed_before = Keyring([old]).seal("my flare diary 😣 עברית <b>")
    both = Keyring.parse(f" {new} , {old} ")
    assert both.count == 2
    assert both.open(sealed_before) == "my flare diary 😣 עברית <b>"
    rotated = both.rotate(sealed_before)
    assert Keyring([new]).open(rotated) == "my flare diary 😣 עברית <b>", "rotated: the newest key alone opens it"
    with pytest.raises(DataKeyError):
        Keyring([old]).open(rotated)
    with pytest.raises(DataKeyError, match="key 2 of 2 is not a Fernet key"):
        Keyring.parse(f"{new},not-a-key")


def test_an_empty_server_default_reads_as_empty_and_other_unsealed_data_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    database = Database(url, Keyring([Keyring.generate()]))
    database.upgrade()
    seed(database)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE clinical_note SET text = ''")  # as a new column's default leaves it
        connection.exec_driver_sql("UPDATE tool_entry SET data = '{}'")
    with database.transaction() as session:
        assert session.exec(select(ClinicalNote.text)).one() == ""
        assert session.exec(select(ToolEntry)).one().data == {}
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE answer SET value = 'plain words'")
        connection.exec_driver_sql("UPDATE dialog_state SET data = '{\"a\": 1}'")
    with pytest.raises(DataKeyError), database.transaction() as session:
        session.exec(select(Answer.value)).one()
    with pytest.raises(DataKeyError, match="unsealed"), database.transaction() as session:
        session.exec(select(DialogState)).one()
    database.dispose()


def test_without_data_key_sqlite_gets_a_development_key_in_its_folder_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="storage.sealed"):
        first = keyring_for(f"sqlite:///{tmp_path / 'var' / 'paincoach.db'}", None)
    key_file = tmp_path / "var" / "data.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, "only its owner may read it"
    assert "DATA_KEY is not set" in caplog.text
    again = development_keyring(key_file)
    assert again.open(first.seal("same key next time")) == "same key next time"
    with pytest.raises(DataKeyError, match="DATA_KEY: required"):
        keyring_for("postgresql+psycopg://coach@127.0.0.1/coach", None)


def test_production_settings_demand_a_data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://coach@127.0.0.1/coach")
    with pytest.raises(SettingsError, match="DATA_KEY: required with PostgreSQL"):
        load_settings(env_file=None)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/x.db")
    monkeypatch.setenv("WEBHOOK_URL", "https://coach.example.org/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret")
    with pytest.raises(SettingsError, match="DATA_KEY: required"):
        load_settings(env_file=None)
    monkeypatch.setenv("DATA_KEY", "nonsense")
    with pytest.raises(SettingsError, match="DATA_KEY: key 1 of 1 is not a Fernet key"):
        load_settings(env_file=None)
    monkeypatch.setenv("DATA_KEY", Fernet.generate_key().decode())
    assert load_settings(env_file=None).keyring.count == 1


def test_every_free_text_column_is_sealed() -> None:
    sealed = {f"{table.name}.{column.name}" for table, column in sealed_columns()}
    assert {
        "dialog_state.data", "answer.value", "inbound_update.payload", "outbox.payload", "alert.excerpt",
        "tool_entry.data", "questionnaire_result.answers", "clinical_note.text", "broadcast.text",
    } <= sealed  # fmt: skip


# -- rotation ------------------------------------------------------------------------------


def seed(database: Database) -> None:
    """A few rows with sealed columns, written through the models."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    from storage.models import Patient

    with database.transaction() as session:
        patient = Patient(telegram_user_id=1, chat_id=1, locale="en", timezone="UTC", status="active", created_at=now)
        session.add(patient)
        session.flush()
        assert patient.id is not None
        session.add(DialogState(patient_id=patient.id, data={"answers": {"x": {"y": REFLECTION}}}, updated_at=now))
        session.add(Answer(patient_id=patient.id, flow="f", step="s", key="k", value=REFLECTION, created_at=now))
        session.add(ToolEntry(patient_id=patient.id, tool="t", data={"thought": QUESTION}, created_at=now))
        session.add(ClinicalNote(patient_id=patient.id, staff_id=7, text=NOTE, created_at=now))


def test_rotation_seals_everything_again_with_the_newest_key(database_url: str) -> None:
    url = database_url
    old, new = Keyring.generate(), Keyring.generate()
    database = Database(url, Keyring([old]))
    database.upgrade()
    seed(database)
    database.dispose()

    rotating = Database(url, Keyring([new, old]))
    counts = rotate(rotating)
    rotating.dispose()
    assert counts["answer.value"] == 1
    assert counts["dialog_state.data"] == 1
    assert counts["tool_entry.data"] == 1
    assert counts["clinical_note.text"] == 1
    assert counts["outbox.payload"] == 0

    only_new = Database(url, Keyring([new]))
    try:
        with only_new.transaction() as session:
            assert session.exec(select(Answer.value)).one() == REFLECTION
            assert session.exec(select(ToolEntry)).one().data == {"thought": QUESTION}
            assert session.exec(select(ClinicalNote.text)).one() == NOTE
            assert session.exec(select(DialogState)).one().data["answers"]["x"]["y"] == REFLECTION
    finally:
        only_new.dispose()


def test_paincoach_keys_rotate_and_generate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    old = Keyring.generate()
    database = Database(url, Keyring([old]))
    database.upgrade()
    seed(database)
    database.dispose()

    made = subprocess.run(
        [sys.executable, "-m", "paincoach", "keys", "generate"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    new = made.stdout.strip()
    Keyring([new])  # a real key
    env = {**os.environ, "DATABASE_URL": url, "DATA_KEY": f"{new},{old}"}
    done = subprocess.run(
        [sys.executable, "-m", "paincoach", "keys", "rotate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "answer.value: 1 sealed again" in done.stdout
    assert "newest of 2 key(s)" in done.stdout

    lost = subprocess.run(
        [sys.executable, "-m", "paincoach", "keys", "rotate"],
        cwd=ROOT, env={**env, "DATA_KEY": Keyring.generate()}, capture_output=True, text=True,
    )  # fmt: skip
    assert lost.returncode == 1
    assert "none of the keys opens" in lost.stderr, "a wrong key stops with one clear line"

    only_new = Database(url, Keyring([new]))
    try:
        with only_new.transaction() as session:
            assert session.exec(select(Answer.value)).one() == REFLECTION
    finally:
        only_new.dispose()


# -- the migration -------------------------------------------------------------------------


def test_the_migration_seals_rows_written_before_and_its_downgrade_opens_them(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'coach.db'}"
    keyring = Keyring([Keyring.generate()])
    config = alembic_config(url)
    config.attributes["keyring"] = keyring
    command.upgrade(config, "0006")
    engine = sa.create_engine(url)
    now = "2026-03-02 09:00:00.000000"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO patient (id, code, telegram_user_id, chat_id, locale, timezone, status, created_at) "
            f"VALUES (1, 'P-0001', 1, 1, 'en', 'UTC', 'active', '{now}')"
        )
        connection.exec_driver_sql(
            "INSERT INTO answer (patient_id, flow, step, key, value, created_at) "
            f"VALUES (1, 'f', 's', 'k', ?, '{now}')",
            (REFLECTION,),
        )
        connection.exec_driver_sql(
            "INSERT INTO outbox (chat_id, kind, payload, priority, status, attempts, not_before, created_at) "
            f"VALUES (1, 'message', ?, 20, 'sent', 1, '{now}', '{now}')",
            (json.dumps({"text": REPLY}),),
        )
        connection.exec_driver_sql(
            "INSERT INTO inbound_update (update_id, chat_id, payload, received_at, failed) "
            f"VALUES (9, 1, NULL, '{now}', 0)"
        )
    command.upgrade(config, "0011")
    assert REFLECTION.encode() not in database_bytes(tmp_path / "coach.db")
    assert REPLY.encode() not in database_bytes(tmp_path / "coach.db")

    database = Database(url, keyring)
    try:
        with database.transaction() as session:
            assert session.exec(select(Answer.value)).one() == REFLECTION
            assert session.exec(select(OutboxMessage)).one().payload == {"text": REPLY}
    finally:
        database.dispose()

    command.upgrade(config, "0011")  # again: nothing sealed twice
    command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT value FROM answer").scalar() == REFLECTION
        assert json.loads(connection.exec_driver_sql("SELECT payload FROM outbox").scalar()) == {"text": REPLY}
        assert connection.exec_driver_sql("SELECT payload FROM inbound_update").scalar() is None
    engine.dispose()


def test_the_migration_on_each_database(database_url: str) -> None:
    """SQLite and PostgreSQL: rows written at 0006 are sealed by 0011, and opened by its downgrade."""
    from alembic import command

    keyring = Keyring([Keyring.generate()])
    config = alembic_config(database_url)
    config.attributes["keyring"] = keyring
    command.upgrade(config, "0006")
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    patient = sa.table("patient", *(sa.column(c) for c in ("id", "code", "telegram_user_id", "chat_id", "locale",
                                                           "timezone", "status", "created_at")))  # fmt: skip
    answer = sa.table("answer", *(sa.column(c) for c in ("patient_id", "flow", "step", "key", "created_at")),
                      sa.column("value", sa.Text()))  # fmt: skip
    tool = sa.table("tool_entry", *(sa.column(c) for c in ("patient_id", "tool", "created_at")),
                    sa.column("data", sa.JSON()))  # fmt: skip
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(patient.insert().values(id=1, code="P-0001", telegram_user_id=1, chat_id=1, locale="en",
                                                       timezone="UTC", status="active", created_at=now))  # fmt: skip
            connection.execute(answer.insert().values(patient_id=1, flow="f", step="s", key="k", value=REFLECTION,
                                                      created_at=now))  # fmt: skip
            connection.execute(tool.insert().values(patient_id=1, tool="t", data={"thought": QUESTION}, created_at=now))
        command.upgrade(config, "0011")
        with engine.connect() as connection:
            stored = connection.execute(sa.select(answer.c.value)).scalar()
            assert stored != REFLECTION and keyring.open(stored) == REFLECTION
            assert isinstance(connection.execute(sa.select(tool.c.data)).scalar(), str), "a token in the JSON column"
        database = Database(database_url, keyring)
        try:
            with database.transaction() as session:
                assert session.exec(select(ToolEntry)).one().data == {"thought": QUESTION}
        finally:
            database.dispose()
        command.downgrade(config, "0006")
        with engine.connect() as connection:
            assert connection.execute(sa.select(answer.c.value)).scalar() == REFLECTION
            assert connection.execute(sa.select(tool.c.data)).scalar() == {"thought": QUESTION}
    finally:
        engine.dispose()
