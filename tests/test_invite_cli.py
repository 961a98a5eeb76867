"""`paincoach invite create|list|revoke` (with a QR code PNG) and `paincoach trial verify`, run as
a coordinator would, in a process of their own; and the enrolment settings."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import segno

from paincoach.settings import SettingsError, load_settings
from tests.conftest import ROOT


def paincoach(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ENROLMENT"))}
    environment.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "LOG_LEVEL": "WARNING", **env})
    return subprocess.run(
        [sys.executable, "-m", "paincoach", *args], capture_output=True, text=True, cwd=ROOT, env=environment,
        check=False, timeout=120,
    )  # fmt: skip


def test_a_coordinator_creates_lists_and_revokes_invitations_with_a_qr_code(tmp_path: Path) -> None:
    qr = tmp_path / "north.png"
    made = paincoach(tmp_path, "invite", "create", "--uses", "3", "--expires-days", "5", "--site", "North",
                     "--note", "waiting room", "--qr", str(qr), BOT_USERNAME="@clinic_coach_bot")  # fmt: skip
    assert made.returncode == 0, made.stderr
    found = re.search(r"(https://t\.me/clinic_coach_bot\?start=([A-Za-z0-9_-]{16}))\s+uses 3, expires \S+", made.stdout)
    assert found, made.stdout
    link, code = found.groups()
    assert "site North" in made.stdout or "site north" in made.stdout
    png = qr.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == segno.make(link, error="m").symbol_size(scale=8, border=4), "the QR code of the link"

    listed = paincoach(tmp_path, "invite", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith(code))
    assert "0/3" in line and "north" in line and "valid" in line and "waiting room" in line

    revoked = paincoach(tmp_path, "invite", "revoke", code)
    assert revoked.returncode == 0 and f"revoked {code}" in revoked.stdout
    line = next(row for row in paincoach(tmp_path, "invite", "list").stdout.splitlines() if row.startswith(code))
    assert "revoked" in line

    unknown = paincoach(tmp_path, "invite", "revoke", "no-such-code")
    assert unknown.returncode == 1 and "no invitation no-such-code" in unknown.stderr

    verified = paincoach(tmp_path, "trial", "verify")
    assert verified.returncode == 0 and "0 allocation(s) match the seed" in verified.stdout


def test_without_the_bots_username_the_command_line_says_which_setting_it_needs(tmp_path: Path) -> None:
    made = paincoach(tmp_path, "invite", "create")
    assert made.returncode == 2
    assert "BOT_USERNAME" in made.stderr and len(made.stderr.strip().splitlines()) == 1


def test_the_enrolment_defaults_invite_screen_and_run_a_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENROLMENT", "ELIGIBILITY_SCREENING", "PROGRAMME_MODE", "TRIAL_RATIO", "TRIAL_BLOCK_SIZES"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(None)
    assert (settings.enrolment, settings.eligibility_screening, settings.programme_mode) == ("invite", True, "service")
    assert (settings.trial_ratio, settings.trial_block_sizes, settings.trial_stratify) == ("1:1", "4,6", "")


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("ENROLMENT", "closed", "ENROLMENT"),
        ("PROGRAMME_MODE", "rct", "PROGRAMME_MODE"),
        ("TRIAL_BLOCK_SIZES", "4,5", "TRIAL_BLOCK_SIZES"),
        ("TRIAL_RATIO", "one", "TRIAL_RATIO"),
        ("TRIAL_STRATIFY", "age", "TRIAL_STRATIFY"),
        ("BOT_USERNAME", "not a name!", "BOT_USERNAME"),
    ],
)
def test_a_malformed_enrolment_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(None)
    assert named in str(error.value) and "\n" not in str(error.value)
