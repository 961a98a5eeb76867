"""`paincoach chat`: the same conversation in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run_cli(args: list[str], stdin: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    # The taps below walk onboarding as it starts without the screening (tests/test_enrolment*.py cover it).
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "ELIGIBILITY_SCREENING": "false"}
    return subprocess.run(
        [sys.executable, "-m", "paincoach.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_terminal_chat_opens_with_the_welcome(tmp_path: Path) -> None:
    result = run_cli(["chat"], "", tmp_path)  # `run` with no token opens the sandbox: tests/test_sandbox.py
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout, "the welcome's button is shown as a numbered choice"
    assert (tmp_path / "var" / "chat.db").exists()


def test_a_patient_can_consent_and_start_lesson_one_in_the_terminal(tmp_path: Path) -> None:
    taps = "\n".join(["1", "1", "3", "1", "1", "1", "1", "1", "1"])
    result = run_cli(["chat", "--fresh"], taps + "\n/help\n/lesson\nhello there\n/nonsense\n", tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "116 123" in out, "the UK crisis contacts (choice 3) were shown"
    assert "» I agree" in out
    assert "Lesson 1" in out
    assert "I'm waiting for a tap" in out, "free text at a button step is answered kindly"
    assert "/nonsense" in out
    assert "<b>" not in out, "HTML is turned into plain terminal text"


def test_the_terminal_chat_remembers_where_the_patient_was(tmp_path: Path) -> None:
    # the menu after consent offers the baseline check-in first ([1]) and lesson 1 second ([2])
    run_cli(["chat", "--fresh"], "1\n1\n5\n1\n1\n1\n1\n1\n2\n", tmp_path)
    again = run_cli(["chat"], "/lesson\n", tmp_path)
    assert "Welcome back" in again.stdout
    assert "Continue lesson 1" in again.stdout
    after_lesson = again.stdout.split("> ")[1]
    assert "[1] Let's begin" in after_lesson, "the same step, shown again"


def test_the_terminal_chat_shows_a_chart_by_its_caption(tmp_path: Path) -> None:
    consent = "1\n1\n5\n1\n1\n1\n1\n"
    check_in = "1\n" + "1\n" * 9 + "1\n" * 7 + "1\n" * 3  # the check-in: all the lowest answers
    result = run_cli(["chat", "--fresh"], consent + check_in + "/progress\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "🖼 📈 Your check-in scores over time" in result.stdout
    assert "Your mood (PHQ-9): 0" in result.stdout
