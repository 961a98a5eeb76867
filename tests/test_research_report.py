"""The report's figures equal hand computation on a small fixture trial, Hedges' g and its CI
included; and the files are written (json with the agreed keys, markdown, self-contained html, PNGs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from content.schema import Content
from research import report
from tests.research_fixture import small_trial


def test_the_figures_equal_hand_computation(content: Content) -> None:
    built = report.build(small_trial(), content.for_locale(None).questionnaires, content.program, "trial")
    phq9 = built["measures"]["phq9"]
    # baseline: course 10, 12, 14 (mean 12, SD 2); waitlist 11, 13, 15 (mean 13, SD 2)
    assert phq9["baseline"]["course"] == {"n": 3, "mean": 12.0, "sd": 2.0}
    assert phq9["baseline"]["waitlist"] == {"n": 3, "mean": 13.0, "sd": 2.0}
    # post: course 6, 8, 10 (mean 8, SD 2): -33.33%, within d = (12 - 8) / 2 = 2
    assert phq9["post"]["course"]["mean"] == 8.0
    assert phq9["post"]["course"]["pct_change"] == -33.33
    assert phq9["post"]["course"]["within_d"] == 2.0
    # waitlist 10, 12, 17: mean 13, SD sqrt(13) = 3.6056; no change, within d 0
    assert phq9["post"]["waitlist"]["sd"] == 3.6056
    assert phq9["post"]["waitlist"]["pct_change"] == 0.0
    # pooled SD sqrt((2*4 + 2*13)/4) = 2.91548; d = 5 / 2.91548 = 1.714986; J = 1 - 3/15 = 0.8
    # g = 1.371989; v = 6/9 + g^2/12 = 0.823531; half-width 1.959964 * 0.907486 = 1.778641
    effect = phq9["post"]["hedges_g"]
    assert effect["g"] == pytest.approx(1.3720, abs=1e-4)
    assert effect["ci95"] == [pytest.approx(-0.4067, abs=1e-4), pytest.approx(3.1506, abs=1e-4)]
    assert (effect["n_course"], effect["n_control"]) == (3, 3)
    assert "follow-up" not in phq9, "nobody answered at follow-up"
    # two of three course patients finished all five lessons; two of three satisfied (5, 4; not 2)
    assert built["completion_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert built["satisfaction_rate"] == pytest.approx(2 / 3, abs=1e-4)
    # minutes 60, 80, 100: mean 80, SD 20, total 240
    assert built["clinician_minutes"] == {"mean": 80.0, "sd": 20.0, "total": 240, "patients": 3}
    flow = built["consort"]
    assert (flow["joined"], flow["screened"], flow["eligible"], flow["consented"]) == (6, 6, 6, 6)
    assert flow["allocated"] == {"course": 3, "waitlist": 3}
    assert flow["lesson_4"] == {"course": 2, "waitlist": 0}
    assert flow["completed"] == {"course": 2, "waitlist": 0}


def test_service_mode_has_no_between_group_figures(content: Content) -> None:
    built = report.build(small_trial(), content.for_locale(None).questionnaires, content.program, "service")
    assert all("hedges_g" not in point for q in built["measures"].values() for point in q.values())


def test_no_between_group_figure_for_a_measure_asked_only_after_the_course(content: Content) -> None:
    built = report.build(small_trial(), content.for_locale(None).questionnaires, content.program, "trial")
    assert "hedges_g" not in built["measures"]["satisfaction"]["post"]


def test_the_report_files(content: Content, tmp_path: Path) -> None:
    questionnaires = content.for_locale(None).questionnaires
    built = report.build(small_trial(), questionnaires, content.program, "trial")
    written = report.write(built, questionnaires, tmp_path / "out")
    names = {p.name for p in written}
    assert {"report.json", "report.md", "report.html", "chart-phq9.png"} <= names
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {"consort", "measures", "completion_rate", "satisfaction_rate", "clinician_minutes"} <= set(document)
    assert (
        set(document["measures"]["phq9"]["post"]["hedges_g"]["ci95"]) and document["clinician_minutes"]["total"] == 240
    )
    assert (tmp_path / "out" / "chart-phq9.png").read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "out" / "report.html").read_text()
    assert "data:image/png;base64," in page and "src='chart" not in page, "charts are embedded"
    text = (tmp_path / "out" / "report.md").read_text()
    assert (
        "g = 1.37" in text
        and "Hedges" in text
        and "| completed | 2 | 2 | 0 |" in text
        and "| joined | 6 |  |  |" in text
    )
