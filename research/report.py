"""The trial report (`paincoach report --out DIR`): report.json, report.md, report.html (charts
embedded) and PNG charts, as pure functions of a `Dataset` and the content, except the drawing.

`report.json` keys: `consort` (counts by stage, research/consort.py); `measures.<questionnaire>.
<time point>.<arm>` = {n, mean, sd} (and, after baseline, `pct_change` and `within_d` on the
patients with both); `measures.<questionnaire>.<time point>.hedges_g` = {g, ci95: [low, high],
n_course, n_control} with two arms; `completion_rate`, `satisfaction_rate`,
`clinician_minutes: {mean, sd, total}`; `mode`, `method`, `arms`."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.schema import Program, Questionnaire
from research import consort
from research.consort import BASELINE, COURSE, FOLLOW_UP, POST, WAITLIST, arm_of
from research.dataset import Dataset, Participant
from research.statistics import (
    METHOD,
    SATISFACTION_ITEM,
    hedges_g,
    percent_change,
    rate,
    satisfied,
    summary,
    within_effect,
)

TIME_POINTS = (BASELINE, POST, FOLLOW_UP)


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


def _total(participant: Participant, questionnaire: str, occasion: str) -> float | None:
    result = participant.result(questionnaire, occasion)
    return None if result is None else result.total


def measured(questionnaires: dict[str, Questionnaire], program: Program) -> list[str]:
    """The questionnaires given at baseline, post or follow-up, in the order first given."""
    found: list[str] = []
    for occasion in program.questionnaires:
        if occasion.id in TIME_POINTS:
            found += [q for q in occasion.give if q in questionnaires and q not in found]
    return found


def measures(
    dataset: Dataset, questionnaires: dict[str, Questionnaire], program: Program, trial: bool
) -> dict[str, dict[str, dict[str, Any]]]:
    arms = consort.arms(dataset)
    consented = [p for p in dataset.participants if p.consented_at is not None]
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for name in measured(questionnaires, program):
        found[name] = {}
        for point in TIME_POINTS:
            entry: dict[str, Any] = {}
            values_by_arm: dict[str, list[float]] = {}
            for arm in arms:
                group = [p for p in consented if arm_of(p) == arm]
                values = [v for p in group if (v := _total(p, name, point)) is not None]
                values_by_arm[arm] = values
                stats = summary(values)
                cell: dict[str, Any] = {"n": stats.n, "mean": _round(stats.mean), "sd": _round(stats.sd)}
                if point != BASELINE:
                    pairs = [
                        (b, v)
                        for p in group
                        if (b := _total(p, name, BASELINE)) is not None and (v := _total(p, name, point)) is not None
                    ]
                    before, after = [b for b, _ in pairs], [v for _, v in pairs]
                    cell["n_paired"] = len(pairs)
                    cell["pct_change"] = _round(percent_change(before, after) if pairs else None, 2)
                    cell["within_d"] = _round(within_effect(before, after) if pairs else None)
                entry[arm] = cell
            if all(cell["n"] == 0 for cell in entry.values()):
                continue
            # Between arms only for measures taken at baseline too (lower is better: PHQ-9, GAD-7, PEG),
            # not for those asked once at post (satisfaction, PGIC), where the sign would mean otherwise.
            if (
                trial
                and point != BASELINE
                and BASELINE in found[name]
                and COURSE in values_by_arm
                and WAITLIST in values_by_arm
            ):
                effect = hedges_g(values_by_arm[COURSE], values_by_arm[WAITLIST])
                entry["hedges_g"] = (
                    None
                    if effect is None
                    else {
                        "g": _round(effect.g),
                        "ci95": [_round(effect.low), _round(effect.high)],
                        "n_course": effect.n_course,
                        "n_control": effect.n_control,
                    }
                )
            found[name][point] = entry
    return found


def _treated(dataset: Dataset, trial: bool) -> list[Participant]:
    """Those offered the course during the study: the course arm in a trial, everyone in a service."""
    return [p for p in dataset.participants if p.consented_at is not None and (not trial or p.arm == COURSE)]


def build(dataset: Dataset, questionnaires: dict[str, Questionnaire], program: Program, mode: str) -> dict[str, Any]:
    """report.json's content."""
    trial = mode == "trial"
    flow = consort.flow(dataset, program)
    counts = consort.counts(dataset, program)
    treated_arm = COURSE if trial else consort.SERVICE
    treated = _treated(dataset, trial)
    lessons = [r.lesson for r in program.lessons]
    completed = sum(1 for p in treated if all(n in p.lessons_done for n in lessons))
    completed += dataset.tallies.get(f"completed:{treated_arm}", 0)
    allocated = len(treated) + dataset.tallies.get(f"allocated:{treated_arm}", 0)
    answers = [
        r.answers[SATISFACTION_ITEM]
        for p in treated
        if (r := p.result("satisfaction", POST)) is not None and SATISFACTION_ITEM in r.answers
    ]
    answered = len(answers) + dataset.tallies.get(f"satisfaction_answered:{treated_arm}", 0)
    happy = sum(1 for a in answers if satisfied(a)) + dataset.tallies.get(f"satisfied:{treated_arm}", 0)
    minutes = summary([float(p.clinician_minutes) for p in treated])
    minutes_total = sum(p.clinician_minutes for p in treated) + dataset.tallies.get(f"minutes:{treated_arm}", 0)
    return {
        "mode": mode,
        "arms": consort.arms(dataset),
        "method": METHOD,
        "consort": flow,
        "measures": measures(dataset, questionnaires, program, trial),
        "completion_rate": _round(rate(completed, allocated)),
        "completion": {"completed": completed, "of": allocated, "lessons": len(lessons)},
        "satisfaction_rate": _round(rate(happy, answered)),
        "satisfaction": {
            "satisfied": happy,
            "of": answered,
            "rule": "satisfied or very satisfied on the overall item (4 or 5 of 5)",
        },
        "clinician_minutes": {
            "mean": _round(minutes.mean, 1),
            "sd": _round(minutes.sd, 1),
            "total": minutes_total,
            "patients": minutes.n,
        },
        "erased": sum(v for k, v in counts.items() if k == "erased"),
    }


# -- writing it ---------------------------------------------------------------------------------


def _fmt(value: Any, places: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{places}f}"
    return str(value)


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]


def tables(report: dict[str, Any], questionnaires: dict[str, Questionnaire]) -> list[Table]:
    arms: list[str] = report["arms"]
    found = []
    flow_rows = []
    for stage, value in report["consort"].items():
        if isinstance(value, dict):
            total = sum(value.get(a, 0) for a in arms)
            flow_rows.append([stage.replace("_", " "), _fmt(total), *[_fmt(value.get(a, 0)) for a in arms]])
        else:
            flow_rows.append([stage.replace("_", " "), _fmt(value), *[""] * len(arms)])
    found.append(Table("Flow of participants", ["stage", "all", *arms], flow_rows))
    for name, points in report["measures"].items():
        rows = []
        for point, entry in points.items():
            for arm in arms:
                cell = entry.get(arm)
                if cell is None:
                    continue
                rows.append(
                    [
                        point,
                        arm,
                        _fmt(cell["n"]),
                        _fmt(cell["mean"]),
                        _fmt(cell["sd"]),
                        _fmt(cell.get("pct_change"), 1) + ("%" if cell.get("pct_change") is not None else ""),
                        _fmt(cell.get("within_d")),
                    ]
                )
            effect = entry.get("hedges_g")
            if effect:
                rows.append(
                    [
                        point,
                        "between arms",
                        "",
                        f"g = {_fmt(effect['g'])}",
                        f"95% CI {_fmt(effect['ci95'][0])} to {_fmt(effect['ci95'][1])}",
                        "",
                        "",
                    ]
                )
        if not rows:
            continue
        title = questionnaires[name].title if name in questionnaires else name
        found.append(Table(title, ["time point", "arm", "n", "mean", "SD", "% change", "within d"], rows))
    return found


def summary_lines(report: dict[str, Any]) -> list[str]:
    completion, satisfaction, minutes = report["completion"], report["satisfaction"], report["clinician_minutes"]
    return [
        f"Mode: {report['mode']}; arms: {', '.join(report['arms']) or 'none'}.",
        f"Completion (all {completion['lessons']} lessons): {completion['completed']} of {completion['of']}"
        f" ({_pct(report['completion_rate'])}).",
        f"Satisfied ({satisfaction['rule']}): {satisfaction['satisfied']} of {satisfaction['of']}"
        f" ({_pct(report['satisfaction_rate'])}).",
        f"Clinician minutes per patient: mean {_fmt(minutes['mean'], 1)}, SD {_fmt(minutes['sd'], 1)},"
        f" total {minutes['total']}.",
    ]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def markdown(report: dict[str, Any], questionnaires: dict[str, Questionnaire], charts: list[str]) -> str:
    lines = ["# Outcomes report", "", *[f"- {line}" for line in summary_lines(report)], ""]
    for table in tables(report, questionnaires):
        lines += [f"## {table.title}", "", "| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines.append("")
    lines += ["## Method", "", report["method"], ""]
    lines += [f"![{Path(c).stem}]({c})" for c in charts]
    return "\n".join(lines) + "\n"


def html_page(report: dict[str, Any], questionnaires: dict[str, Questionnaire], charts: dict[str, bytes]) -> str:
    """One self-contained page: the charts are embedded as data URIs."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Outcomes report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}</style></head><body>",
        "<h1>Outcomes report</h1><ul>",
    ]
    parts += [f"<li>{html.escape(line)}</li>" for line in summary_lines(report)]
    parts.append("</ul>")
    for table in tables(report, questionnaires):
        parts.append(f"<h2>{html.escape(table.title)}</h2><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in table.header]
        parts.append("</tr>")
        for row in table.rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append(f"<h2>Method</h2><p>{html.escape(report['method'])}</p>")
    for name, png in charts.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'></figure>")
    parts.append("</body></html>")
    return "".join(parts)


def chart(report: dict[str, Any], name: str, title: str) -> bytes:
    """Mean (± SD) at each time point, one line per arm, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.6), dpi=100)
    points = [p for p in TIME_POINTS if p in report["measures"][name]]
    for offset, arm in enumerate(report["arms"]):
        xs, means, sds = [], [], []
        for index, point in enumerate(points):
            cell = report["measures"][name][point].get(arm)
            if cell and cell["mean"] is not None:
                xs.append(index + offset * 0.05)
                means.append(cell["mean"])
                sds.append(cell["sd"] or 0.0)
        if xs:
            axes.errorbar(xs, means, yerr=sds, marker="o", capsize=4, label=arm)
    axes.set_xticks(range(len(points)), points)
    axes.set_title(f"{title}: mean ± SD")
    axes.legend()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    pyplot.close(figure)
    return out.getvalue()


def write(report: dict[str, Any], questionnaires: dict[str, Questionnaire], out: Path) -> list[Path]:
    """report.json, the charts, report.md and report.html in `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json"]
    written[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    charts: dict[str, bytes] = {}
    for name in report["measures"]:
        if len(report["measures"][name]) < 2:
            continue  # one time point (satisfaction, PGIC): a table is enough
        title = questionnaires[name].title if name in questionnaires else name
        charts[f"chart-{name}.png"] = chart(report, name, title)
    for file, png in charts.items():
        (out / file).write_bytes(png)
        written.append(out / file)
    (out / "report.md").write_text(markdown(report, questionnaires, list(charts)), encoding="utf-8")
    (out / "report.html").write_text(html_page(report, questionnaires, charts), encoding="utf-8")
    return [*written, out / "report.md", out / "report.html"]
