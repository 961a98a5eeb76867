"""The research exports (`paincoach export`), as pure functions of a `Dataset` and the content:
wide.csv (one row per patient), long.csv (one row per patient × questionnaire × time point × item),
dictionary.csv (REDCap's data dictionary, generated from the questionnaire content) and
audit.csv. Everything carries pseudonymous codes only: no Telegram ids, no names, no free text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from content.schema import Program, Questionnaire, QuestionnaireItem
from dialogs.occasions import occasions
from research.dataset import Dataset, Participant


def occasion_order(program: Program) -> list[tuple[str, tuple[str, ...]]]:
    """Every occasion (baseline, week-1 ... post, follow-up) and what it gives, by day."""
    return [(o.key, o.give) for o in occasions(program)]


def given(program: Program) -> dict[str, tuple[str, ...]]:
    return dict(occasion_order(program))


def variable(*parts: str) -> str:
    """A REDCap variable name: lower case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "", "_".join(parts).lower().replace("-", ""))


# -- the columns, one definition for wide.csv and dictionary.csv --------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    form: str
    field_type: str  # REDCap: text | radio | notes ...
    label: str
    choices: str = ""
    validation: str = ""  # REDCap: integer | number | date_ymd ...
    minimum: str = ""
    maximum: str = ""
    note: str = ""
    identifier: bool = False


PARTICIPANT_COLUMNS = (
    Column("code", "participant", "text", "Pseudonymous patient code", note="P-0042; the record id"),
    Column("site", "participant", "text", "Site"),
    Column("programme", "participant", "text", "Programme (service or trial)"),
    Column("arm", "participant", "text", "Trial arm (course or waitlist)"),
    Column("eligibility", "participant", "text", "Eligibility screening (eligible, not_eligible, referred)"),
    Column("status", "participant", "text", "Status (active, stopped ...)"),
    Column("joined", "participant", "text", "Date joined", validation="date_ymd"),
    Column("consented", "participant", "text", "Date consented", validation="date_ymd"),
    Column("consent_version", "participant", "text", "Version of the consent text agreed to"),
    Column(
        "content_version",
        "participant",
        "text",
        "Version of the course content at consent",
        note="sha256:<16 hex> over every content file, or a release tag",
    ),
    Column("lessons_done", "participant", "text", "Lessons finished", validation="integer", minimum="0", maximum="5"),
    Column("clinician_minutes", "participant", "text", "Clinician minutes logged", validation="integer", minimum="0"),
)


def choices(questionnaire: Questionnaire, item: QuestionnaireItem) -> str:
    """REDCap's choices: `0, Not at all | 1, Several days | ...`."""
    return " | ".join(f"{o.value}, {o.label.replace('|', '/')}" for o in questionnaire.answers(item))


def questionnaire_columns(questionnaire: Questionnaire, occasion: str) -> list[Column]:
    form = variable(questionnaire.id, occasion)
    low, high = questionnaire.score_range()
    columns = [
        Column(
            variable(questionnaire.id, "date", occasion),
            form,
            "text",
            f"{questionnaire.title} ({occasion}): date",
            validation="date_ymd",
        ),
        Column(
            variable(questionnaire.id, "total", occasion),
            form,
            "text",
            f"{questionnaire.title} ({occasion}): total",
            validation="integer" if questionnaire.scoring.decimals == 0 else "number",
            minimum=f"{low:g}",
            maximum=f"{high:g}",
            note=questionnaire.total_code.code if questionnaire.total_code else "",
        ),
    ]
    for item in questionnaire.items:
        columns.append(
            Column(
                variable(item.id, occasion),
                form,
                "radio",
                f"{questionnaire.title} ({occasion}): {item.text}",
                choices=choices(questionnaire, item),
                note=item.code.code if item.code else "",
            )
        )
    return columns


def columns(questionnaires: dict[str, Questionnaire], program: Program) -> list[Column]:
    found = list(PARTICIPANT_COLUMNS)
    for occasion, gives in occasion_order(program):
        for name in gives:
            if name in questionnaires:
                found.extend(questionnaire_columns(questionnaires[name], occasion))
    return found


# -- the files ----------------------------------------------------------------------------------


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def wide_row(participant: Participant, questionnaires: dict[str, Questionnaire], program: Program) -> dict[str, str]:
    row = {
        "code": participant.code,
        "site": participant.site or "",
        "programme": participant.programme or "",
        "arm": participant.arm or "",
        "eligibility": participant.eligibility or "",
        "status": participant.status,
        "joined": _day(participant.joined_at),
        "consented": _day(participant.consented_at),
        "consent_version": participant.consent_version or "",
        "content_version": participant.content_version or "",
        "lessons_done": str(len(participant.lessons_done)),
        "clinician_minutes": str(participant.clinician_minutes),
    }
    for occasion, gives in occasion_order(program):
        for name in gives:
            questionnaire = questionnaires.get(name)
            if questionnaire is None:
                continue
            result = participant.result(name, occasion)
            row[variable(name, "date", occasion)] = _day(result.at) if result else ""
            row[variable(name, "total", occasion)] = _number(result.total) if result else ""
            for item in questionnaire.items:
                answer = result.answers.get(item.id) if result else None
                row[variable(item.id, occasion)] = "" if answer is None else str(answer)
    return row


def to_csv(header: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def wide_csv(dataset: Dataset, questionnaires: dict[str, Questionnaire], program: Program) -> str:
    header = [c.name for c in columns(questionnaires, program)]
    return to_csv(header, (wide_row(p, questionnaires, program) for p in dataset.participants))


LONG_HEADER = (
    "code", "site", "arm", "consent_version", "content_version",
    "questionnaire", "time_point", "item", "value", "total", "date",
)  # fmt: skip


def long_rows(dataset: Dataset, questionnaires: dict[str, Questionnaire], program: Program) -> list[dict[str, str]]:
    order = {occasion: index for index, (occasion, _) in enumerate(occasion_order(program))}
    rows = []
    for participant in dataset.participants:
        results = sorted(participant.results, key=lambda r: (order.get(r.occasion, len(order)), r.questionnaire))
        for result in results:
            questionnaire = questionnaires.get(result.questionnaire)
            items = [i.id for i in questionnaire.items] if questionnaire else sorted(result.answers)
            for item in items:
                answer = result.answers.get(item)
                rows.append(
                    {
                        "code": participant.code,
                        "site": participant.site or "",
                        "arm": participant.arm or "",
                        "consent_version": participant.consent_version or "",
                        "content_version": participant.content_version or "",
                        "questionnaire": result.questionnaire,
                        "time_point": result.occasion,
                        "item": item,
                        "value": "" if answer is None else str(answer),
                        "total": _number(result.total),
                        "date": _day(result.at),
                    }
                )
    return rows


def long_csv(dataset: Dataset, questionnaires: dict[str, Questionnaire], program: Program) -> str:
    return to_csv(LONG_HEADER, long_rows(dataset, questionnaires, program))


# REDCap's data dictionary, in its own column names and order.
DICTIONARY_HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)


def dictionary_csv(questionnaires: dict[str, Questionnaire], program: Program) -> str:
    rows = []
    for column in columns(questionnaires, program):
        rows.append(
            {
                "Variable / Field Name": column.name,
                "Form Name": column.form,
                "Section Header": "",
                "Field Type": column.field_type,
                "Field Label": column.label,
                "Choices, Calculations, OR Slider Labels": column.choices,
                "Field Note": column.note,
                "Text Validation Type OR Show Slider Number": column.validation,
                "Text Validation Min": column.minimum,
                "Text Validation Max": column.maximum,
                "Identifier?": "y" if column.identifier else "",
                "Branching Logic (Show field only if...)": "",
                "Required Field?": "",
                "Custom Alignment": "",
                "Question Number (surveys only)": "",
                "Matrix Group Name": "",
                "Matrix Ranking?": "",
                "Field Annotation": "",
            }
        )
    return to_csv(DICTIONARY_HEADER, rows)


# -- the audit log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str  # "coach" or "staff:<telegram id>"
    action: str
    patient_code: str | None
    detail: dict[str, Any]


AUDIT_HEADER = ("at", "actor", "action", "patient", "detail")
# Detail keys that hold a staff member's Telegram id: shown as the same pseudonym as the actor.
STAFF_ID_KEYS = frozenset({"user", "staff", "staff_id", "by", "acknowledged_by", "reviewed_by"})


def audit_rows(lines: Iterable[AuditLine]) -> list[dict[str, str]]:
    """The audit log with staff Telegram ids replaced by `staff-1`, `staff-2` ... (the same member,
    the same pseudonym, in order of first appearance)."""
    pseudonyms: dict[str, str] = {}

    def staff(telegram_id: object) -> str:
        return pseudonyms.setdefault(str(telegram_id), f"staff-{len(pseudonyms) + 1}")

    rows = []
    for line in lines:
        actor = staff(line.actor.removeprefix("staff:")) if line.actor.startswith("staff:") else line.actor
        detail = {k: (staff(v) if k in STAFF_ID_KEYS and v is not None else v) for k, v in sorted(line.detail.items())}
        rows.append(
            {
                "at": line.at.isoformat(),
                "actor": actor,
                "action": line.action,
                "patient": line.patient_code or "",
                "detail": "; ".join(f"{k}={v}" for k, v in detail.items()),
            }
        )
    return rows


def audit_csv(lines: Iterable[AuditLine]) -> str:
    return to_csv(AUDIT_HEADER, audit_rows(lines))
