"""Content review tools: the Mermaid graph, reading statistics, and the shape of every lesson."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from content import readability
from content.graph import edges, mermaid
from content.render import plain
from content.schema import Content, EndStep, Flow
from content.stats import flow_stats
from tests.conftest import CONTENT_DIR, ROOT, load_content

SHIPPED = load_content(CONTENT_DIR, "en")
FLOWS = sorted(SHIPPED.for_locale("en").flows.values(), key=lambda f: f.id)
LESSONS = [f for f in FLOWS if f.kind == "lesson"]


def test_five_lessons_and_six_resources_ship() -> None:
    assert [f.number for f in LESSONS] == [1, 2, 3, 4, 5]
    assert len([f for f in FLOWS if f.kind == "resource"]) == 6


def test_every_lesson_reads_at_grade_eight_or_below() -> None:
    for flow in FLOWS:
        assert flow_stats(flow).grade <= 8, flow.id


def test_every_lesson_has_what_a_lesson_needs() -> None:
    for lesson in LESSONS:
        kinds = [step.type for step in lesson.steps]
        assert kinds.count("message") >= 15, lesson.id
        assert "quiz" in kinds, lesson.id
        assert "question" in kinds, lesson.id
        assert kinds[-1] == "end", lesson.id
        text = " ".join(step.text.lower() for step in lesson.steps)
        assert "summary" in text or "key points" in text or "•" in text, lesson.id


def test_lesson_four_warns_about_pain_rising_before_graded_activity() -> None:
    lesson = SHIPPED.for_locale("en").lesson(4)
    assert lesson is not None
    ids = [step.id for step in lesson.steps]
    warning = next(i for i, step in enumerate(lesson.steps) if "pain may go up for a while" in step.text)
    ladder = next(i for i, step in enumerate(lesson.steps) if "<b>ladder</b>" in step.text)
    assert warning < ladder, f"the warning ({ids[warning]}) must come before the ladder ({ids[ladder]})"


def reachable_ends(flow: Flow, start: str) -> bool:
    graph = edges(flow)
    seen, frontier = {start}, [start]
    while frontier:
        here = frontier.pop()
        if isinstance(flow.step(here), EndStep):
            return True
        for source, target in graph:
            if source == here and target not in seen:
                seen.add(target)
                frontier.append(target)
    return False


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FLOWS), st.data())
def test_no_flow_has_a_dead_end_or_an_unreachable_step(flow: Flow, data: st.DataObject) -> None:
    step = data.draw(st.sampled_from(flow.steps))
    assert reachable_ends(flow, step.id), f"{flow.id}/{step.id} is a dead end"
    # and it can be reached: a random walk of taps from the first step finds it or an end
    graph = edges(flow)
    reachable = {flow.first} | {target for _, target in graph}
    assert step.id in reachable, f"{flow.id}/{step.id} is unreachable"
    here = flow.first
    for _ in range(3 * len(flow.steps)):
        if isinstance(flow.step(here), EndStep):
            break
        here = data.draw(st.sampled_from(sorted(t for s, t in graph if s == here)))
    else:
        raise AssertionError(f"a walk through {flow.id} never ended")


def test_the_graph_shows_every_step_and_every_tap() -> None:
    for flow in FLOWS:
        diagram = mermaid(flow)
        assert diagram.startswith("flowchart TD\n")
        nodes = re.findall(r"^  (s\d+)[\[\{\(]", diagram, re.M)
        assert len(nodes) == len(flow.steps)
        arrows = re.findall(r"^  (s\d+) (?:-- \".*\" )?--> (s\d+)$", diagram, re.M)
        assert len(arrows) == len(edges(flow))


def test_onboarding_graph_shows_the_consent_branches(content: Content) -> None:
    diagram = mermaid(content.for_locale("en").flows["onboarding"])
    assert "I agree" in diagram
    assert "Not right now" in diagram
    assert "I have a question" in diagram


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paincoach.cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_the_graph_command_writes_one_diagram_per_flow(tmp_path: Path) -> None:
    result = run("content", "graph", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.stem for p in tmp_path.glob("*.mmd")) == [f.id for f in FLOWS]


def test_the_stats_command_lists_every_flow_with_its_grade() -> None:
    result = run("content", "stats")
    assert result.returncode == 0, result.stderr
    for flow in FLOWS:
        assert flow.id in result.stdout
    assert "grade" in result.stdout.splitlines()[0]


def test_what_a_patient_reads_about_their_results_is_plain_and_never_a_clinical_label() -> None:
    locale = load_content(CONTENT_DIR, "en").for_locale("en")
    for questionnaire in locale.questionnaires.values():
        words = " ".join([plain(questionnaire.intro), *(plain(band.message) for band in questionnaire.bands)])
        assert readability.grade(words) <= 8, questionnaire.id
        for band in questionnaire.bands:
            for label in ("severe", "depression", "disorder", "moderate", "anxiety"):
                assert label not in band.message.lower(), (questionnaire.id, band.id, label)
