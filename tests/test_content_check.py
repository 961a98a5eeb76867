"""`paincoach content check`: the shipped content passes; each kind of mistake is reported
as file:line: message, and the command exits non-zero."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from content import ContentError, load_content
from content.check import check_directory
from tests.conftest import CONTENT_DIR, ROOT


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR / "en", target / "en")
    shutil.copy(CONTENT_DIR / "program.yaml", target / "program.yaml")
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def problems(root: Path) -> list[str]:
    return [str(p) for p in check_directory(root, "en")]


def test_shipped_content_has_no_problems() -> None:
    assert problems(CONTENT_DIR) == []


def test_shipped_lesson_one_is_complete(content: object) -> None:
    locale = load_content(CONTENT_DIR, "en").for_locale("en")
    lesson = locale.lesson(1)
    assert lesson is not None
    kinds = [step.type for step in lesson.steps]
    assert kinds.count("message") >= 15
    assert "question" in kinds and "quiz" in kinds and kinds[-1] == "end"


def test_a_step_pointing_to_an_unknown_step(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    text = lesson.read_text()
    first_id = text.split("- id: ", 2)[2].split()[0]  # the second step
    edit(lesson, f"- id: {first_id}\n", f"- id: {first_id}\n    next: nowhere-at-all\n")
    found = problems(copy)
    expected_line = line_of(lesson, "next: nowhere-at-all")
    assert f"{lesson}:{expected_line}: step {first_id!r} goes to 'nowhere-at-all'" in "\n".join(found)


def test_an_unreachable_step(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    lesson.write_text(
        lesson.read_text()
        + "\n  - id: forgotten\n    type: message\n    text: Nobody will ever read this.\n    next: hello\n"
    )
    found = "\n".join(problems(copy))
    assert f"{lesson}:{line_of(lesson, 'id: forgotten')}: step 'forgotten' can never be reached" in found


def test_an_unknown_template_variable(copy: Path) -> None:
    ui = copy / "en/ui.yaml"
    edit(ui, "menu: What would you like to do?", "menu: What would you like to do, {{ first_name }}?")
    found = "\n".join(problems(copy))
    assert f"{ui}:{line_of(ui, 'first_name')}: unknown template variable 'first_name'" in found


def test_an_answer_no_step_saves(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    text = lesson.read_text()
    marker = "    text: |\n"
    index = text.index(marker) + len(marker)
    lesson.write_text(text[:index] + "      You said {{ answers.never_asked }}.\n" + text[index:])
    assert "answers.never_asked is not saved by any step" in "\n".join(problems(copy))


def test_text_over_4096_characters_after_rendering(copy: Path) -> None:
    ui = copy / "en/ui.yaml"
    edit(ui, "menu: What would you like to do?", "menu: \"{{ '" + "w" * 50 + "' * 100 }}\"")
    found = "\n".join(problems(copy))
    line = line_of(ui, 'menu: "{{')
    assert f"{ui}:{line}: text is 5000 characters once rendered; Telegram allows 4096" in found


def test_callback_data_over_64_bytes(copy: Path) -> None:
    onboarding = copy / "en/flows/onboarding.yaml"
    edit(onboarding, "id: other", "id: " + "x" * 60)
    found = "\n".join(problems(copy))
    assert f"{onboarding}:{line_of(onboarding, 'x' * 60)}: button data for" in found
    assert "Telegram allows 64" in found


def test_a_missing_translation_key(copy: Path) -> None:
    shutil.copytree(copy / "en", copy / "fr")
    ui = copy / "fr/ui.yaml"
    lines = [line for line in ui.read_text().splitlines() if not line.startswith("menu_help:")]
    ui.write_text("\n".join(lines) + "\n")
    found = "\n".join(problems(copy))
    assert f"{ui}:1: missing translation of 'menu_help' (in en)" in found


def test_a_missing_translated_step(copy: Path) -> None:
    shutil.copytree(copy / "en", copy / "fr")
    (copy / "fr/lessons/lesson-1.yaml").unlink()
    assert "missing translation of lesson-1" in "\n".join(problems(copy))


def test_html_telegram_would_refuse(copy: Path) -> None:
    ui = copy / "en/ui.yaml"
    edit(ui, "menu: What would you like to do?", "menu: <div>What would you like to do?</div>")
    assert f"{ui}:{line_of(ui, '<div>')}: <div> is not HTML that Telegram accepts" in "\n".join(problems(copy))


def test_too_many_messages_without_a_tap(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    text = lesson.read_text()
    text = text.replace("    button:", "    # button:")
    text = text.replace("    buttons:", "    buttons:")
    lesson.write_text(text)
    assert "messages in a row without a tap" in "\n".join(problems(copy))


def test_broken_yaml_names_the_line(copy: Path) -> None:
    ui = copy / "en/ui.yaml"
    edit(ui, "menu: What would you like to do?", "menu: [unclosed")
    found = problems(copy)
    assert any(p.startswith(f"{ui}:") and "not valid YAML" in p for p in found)


def test_a_schema_mistake_names_the_step_and_line(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    edit(lesson, "type: quiz", "type: quizz")
    found = "\n".join(problems(copy))
    assert f"{lesson}:{line_of(lesson, 'type: quizz')}:" in found


def test_loading_broken_content_refuses_to_start(copy: Path) -> None:
    edit(copy / "en/ui.yaml", "menu: What would you like to do?", 'menu: "{{ nope }}"')
    with pytest.raises(ContentError) as error:
        load_content(copy, "en")
    assert "nope" in str(error.value)


def run_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paincoach.cli", "content", "check", "--dir", str(directory)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_command_passes_on_shipped_content() -> None:
    result = run_check(CONTENT_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "content OK" in result.stdout


def test_the_command_fails_clearly_on_a_broken_file(copy: Path) -> None:
    lesson = copy / "en/lessons/lesson-1.yaml"
    lesson.write_text(lesson.read_text().replace("type: end", "type: end\n    next: the-moon", 1))
    result = run_check(copy)
    assert result.returncode == 1
    assert str(lesson) in result.stdout
    assert "problem(s) found" in result.stderr


# -- questionnaires ------------------------------------------------------------------------------


def test_a_licensed_site_adds_the_fiqr_as_one_content_file(copy: Path) -> None:
    fixtures = ROOT / "tests" / "fixtures" / "questionnaires"
    shutil.copy(fixtures / "fiqr.yaml", copy / "en" / "questionnaires" / "fiqr.yaml")
    edit(copy / "program.yaml", "give: [phq9, gad7, peg, satisfaction, pgic]", "give: [phq9, gad7, peg, fiqr, pgic]")
    assert problems(copy) == []
    assert "fiqr" in load_content(copy, "en").for_locale("en").questionnaires


def test_a_timetable_naming_an_unknown_questionnaire_is_reported(copy: Path) -> None:
    program = copy / "program.yaml"
    edit(program, "give: [phq9, gad7, peg, satisfaction, pgic]", "give: [phq9, gad7, peg, bpi, pgic]")
    found = problems(copy)
    assert any("'bpi', which is not a questionnaire" in p and f":{line_of(program, 'bpi')}:" in p for p in found)


def test_a_questionnaire_with_broken_html_or_a_gap_in_its_bands_is_reported(copy: Path) -> None:
    gad7 = copy / "en" / "questionnaires" / "gad7.yaml"
    edit(gad7, "text: Trouble relaxing", "text: <b>Trouble relaxing")
    found = problems(copy)
    assert any(f"gad7.yaml:{line_of(gad7, '<b>Trouble')}:" in p and "never closed" in p for p in found), found
    edit(gad7, "    min: 0\n", "    min: 1\n")
    assert any("gad7.yaml" in p and "bands must start at the lowest score (0)" in p for p in problems(copy))


def test_day_and_month_names_must_all_be_there(copy: Path) -> None:
    ui = copy / "en/ui.yaml"
    edit(ui, "calendar_weekdays: Monday, Tuesday,", "calendar_weekdays: Monday,")
    line = line_of(ui, "calendar_weekdays:")
    assert f"{ui}:{line}: calendar_weekdays needs 7 names, separated by commas" in "\n".join(problems(copy))


def test_a_site_screening_is_its_own_and_two_for_one_site_are_refused(copy: Path) -> None:
    flows = copy / "en" / "flows"
    general = (flows / "eligibility.yaml").read_text(encoding="utf-8")
    (flows / "eligibility-north.yaml").write_text(
        general.replace("id: eligibility\n", "id: eligibility-north\nsite: north\n", 1), encoding="utf-8"
    )
    assert problems(copy) == [], "a site may have its own screening"
    (flows / "eligibility-north2.yaml").write_text(
        general.replace("id: eligibility\n", "id: eligibility-north2\nsite: north\n", 1), encoding="utf-8"
    )
    assert any("two eligibility flows for site 'north'" in p for p in problems(copy))


def test_the_consent_text_needs_a_version(copy: Path) -> None:
    edit(copy / "en" / "flows" / "onboarding.yaml", 'version: "2026-12.1"\n', "")
    assert any("give it a `version`" in p for p in problems(copy))
