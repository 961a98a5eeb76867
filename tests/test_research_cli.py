"""The research commands as a coordinator runs them: report, export, patient export and erase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from storage.models import DialogState, Patient, QuestionnaireResult
from tests.support import make_database

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def paincoach(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database, "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run([sys.executable, "-m", "paincoach", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


def test_report_export_and_erase_from_the_command_line(tmp_path: Path) -> None:
    database = make_database(tmp_path)
    with database.transaction() as session:
        for number, (arm, total) in enumerate([("course", 12), ("waitlist", 14)], start=1):
            patient = Patient(code=f"P-{number:04d}", telegram_user_id=880000 + number, chat_id=880000 + number,
                              locale="en", timezone="Europe/London", status="active", consented_at=NOW,
                              created_at=NOW, arm=arm, programme="trial")  # fmt: skip
            session.add(patient)
            session.flush()
            assert patient.id is not None
            session.add(DialogState(patient_id=patient.id, data={"lessons_done": [1]}, updated_at=NOW))
            answers = {f"phq9_{n}": (1 if n <= total - 8 else 2) if n < 9 else 0 for n in range(1, 10)}
            session.add(QuestionnaireResult(patient_id=patient.id, questionnaire="phq9", title="PHQ-9",
                                            occasion="baseline", answers=answers, total=float(sum(answers.values())),
                                            shown=str(sum(answers.values())), created_at=NOW))  # fmt: skip
    url = database.url
    database.dispose()

    done = paincoach("report", "--out", str(tmp_path / "report"), database=url)
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "report" / "report.json").read_text())
    assert document["mode"] == "trial" and document["consort"]["allocated"] == {"course": 1, "waitlist": 1}

    done = paincoach("export", "--out", str(tmp_path / "export"), database=url)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in (tmp_path / "export").iterdir()} == {"wide.csv", "long.csv", "dictionary.csv",
                                                                 "audit.csv", "fhir.json"}  # fmt: skip
    assert "880001" not in (tmp_path / "export" / "wide.csv").read_text()

    done = paincoach("patient", "export", "P-0001", database=url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["patient"]["code"] == "P-0001"

    done = paincoach("patient", "erase", "p-0001", "--yes", database=url)
    assert done.returncode == 0, done.stderr
    assert "P-0001 erased" in done.stdout
    done = paincoach("patient", "erase", "P-0009", "--yes", database=url)
    assert done.returncode == 1 and "no patient P-0009" in done.stderr

    from storage.database import Database

    again = Database(url)
    try:
        with again.transaction() as session:
            assert [p.code for p in session.exec(select(Patient)).all()] == ["P-0002"]
    finally:
        again.dispose()
