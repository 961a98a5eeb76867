"""The research exports: the CSVs read back equal and their columns match the REDCap dictionary;
the FHIR bundle validates (fhir.resources) and carries the LOINC codes from the content."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from content.schema import Content
from research import fhir
from research.exports import AuditLine, audit_csv, dictionary_csv, long_csv, long_rows, wide_csv, wide_row
from storage.enrolment import EXPORT_FIELDS
from tests.research_fixture import small_trial

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_wide_csv_round_trips_and_its_columns_are_the_dictionary(content: Content) -> None:
    questionnaires, program = content.for_locale(None).questionnaires, content.program
    dataset = small_trial()
    rows = read(wide_csv(dataset, questionnaires, program))
    assert rows == [wide_row(p, questionnaires, program) for p in dataset.participants]
    dictionary = read(dictionary_csv(questionnaires, program))
    assert list(rows[0]) == [d["Variable / Field Name"] for d in dictionary]
    first = rows[0]
    assert first["code"] == "P-0001" and first["arm"] == "course" and first["consent_version"] == "consent-v2"
    assert first["phq9_total_baseline"] == "10" and first["phq9_total_post"] == "6"
    assert sum(int(first[f"phq9_{n}_baseline"]) for n in range(1, 10)) == 10
    assert first["phq9_total_followup"] == "", "not answered: empty, not zero"


def test_every_export_carries_the_enrolment_fields_and_both_versions(content: Content) -> None:
    """Issue 12: the consent text's version and the course content's version are in wide.csv and
    long.csv, with their dictionary entries, and on every FHIR response (meta.tag)."""
    questionnaires, program = content.for_locale(None).questionnaires, content.program
    dataset = small_trial()
    dictionary = {r["Variable / Field Name"]: r for r in read(dictionary_csv(questionnaires, program))}
    wide = read(wide_csv(dataset, questionnaires, program))
    for name in EXPORT_FIELDS:
        assert dictionary[name]["Form Name"] == "participant" and dictionary[name]["Field Type"] == "text"
        assert [r[name] for r in wide] == [getattr(p, name) or "" for p in dataset.participants]
    assert dictionary["content_version"]["Field Label"] == "Version of the course content at consent"
    assert {(r["consent_version"], r["content_version"]) for r in wide} == {("consent-v2", "sha256:0123456789abcdef")}
    assert {r["eligibility"] for r in wide} == {"eligible"}

    long = read(long_csv(dataset, questionnaires, program))
    assert long and {(r["consent_version"], r["content_version"]) for r in long} == {
        ("consent-v2", "sha256:0123456789abcdef")
    }

    document = fhir.bundle(dataset, questionnaires, NOW)
    fhir.validate(document)
    responses = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    assert responses and all(
        r["meta"]["tag"]
        == [
            {"system": fhir.CONSENT_VERSION_SYSTEM, "code": "consent-v2"},
            {"system": fhir.CONTENT_VERSION_SYSTEM, "code": "sha256:0123456789abcdef"},
        ]
        for r in responses
    )
    from fhir.resources.R4B.bundle import Bundle

    parsed = Bundle.model_validate(document)
    tags = {(t.system, t.code) for e in parsed.entry or [] if e.resource.meta for t in e.resource.meta.tag or []}
    assert tags == {
        (fhir.CONSENT_VERSION_SYSTEM, "consent-v2"),
        (fhir.CONTENT_VERSION_SYSTEM, "sha256:0123456789abcdef"),
    }


def test_the_dictionary_is_redcaps_and_comes_from_the_content(content: Content) -> None:
    questionnaires, program = content.for_locale(None).questionnaires, content.program
    text = dictionary_csv(questionnaires, program)
    header = next(csv.reader(io.StringIO(text)))
    assert header[:6] == ["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
                          "Choices, Calculations, OR Slider Labels"]  # fmt: skip
    rows = {r["Variable / Field Name"]: r for r in read(text)}
    item = rows["phq9_1_baseline"]
    assert item["Form Name"] == "phq9_baseline" and item["Field Type"] == "radio"
    assert item["Choices, Calculations, OR Slider Labels"] == (
        "0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day"
    )
    assert item["Field Label"].endswith("Little interest or pleasure in doing things")
    assert rows["phq9_total_post"]["Text Validation Type OR Show Slider Number"] == "integer"
    assert rows["phq9_total_post"]["Text Validation Max"] == "27"
    assert rows["peg_total_baseline"]["Text Validation Type OR Show Slider Number"] == "number"
    assert rows["consented"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert all(name == name.lower() and "-" not in name for name in rows)


def test_long_csv_round_trips_one_row_per_item(content: Content) -> None:
    questionnaires, program = content.for_locale(None).questionnaires, content.program
    dataset = small_trial()
    rows = read(long_csv(dataset, questionnaires, program))
    assert rows == long_rows(dataset, questionnaires, program)
    phq9 = [r for r in rows if r["code"] == "P-0001" and r["questionnaire"] == "phq9"]
    assert len(phq9) == 9 * 2, "nine items at baseline and at post"
    assert {r["time_point"] for r in phq9} == {"baseline", "post"}
    assert sum(int(r["value"]) for r in phq9 if r["time_point"] == "post") == 6


def test_the_fhir_bundle_validates_with_loinc_codes(content: Content) -> None:
    questionnaires = content.for_locale(None).questionnaires
    document = fhir.bundle(small_trial(), questionnaires, NOW)
    fhir.validate(document)
    from fhir.resources.R4B.bundle import Bundle

    parsed = Bundle.model_validate(document)
    kinds = [entry.resource.get_resource_type() for entry in parsed.entry or []]
    assert kinds.count("Questionnaire") == len(questionnaires)
    assert kinds.count("QuestionnaireResponse") == 6 + 6 + 3, "baseline, post and three satisfactions"
    text = json.dumps(document)
    for code in ("44249-1", "44261-6", "69737-5", "70274-6", "44250-9", "LA6568-5"):
        assert f'"code": "{code}"' in text
    phq9 = next(e["resource"] for e in document["entry"] if e["resource"].get("id") == "phq9")
    assert phq9["code"][0] == {"system": "http://loinc.org", "code": "44249-1",
                               "display": "PHQ-9 quick depression assessment panel"}  # fmt: skip
    response = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    assert response["subject"] == {"identifier": {"system": fhir.CODE_SYSTEM, "value": "P-0001"}}
    assert response["item"][-1] == {"linkId": "phq9_total", "answer": [{"valueInteger": 10}]}


def test_an_invalid_bundle_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        bad = {"resourceType": "QuestionnaireResponse", "status": "done", "x": 1}
        fhir.validate({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}]})


def test_the_audit_log_shows_staff_by_pseudonym_only() -> None:
    lines = [
        AuditLine(NOW, "staff:123456789", "checkin_logged", "P-0001", {"kind": "phone", "minutes": 15}),
        AuditLine(NOW, "staff:987654321", "staff_added", None, {"user": 123456789, "role": "guide"}),
        AuditLine(NOW, "coach", "alert_raised", "P-0002", {"level": "urgent"}),
    ]
    text = audit_csv(lines)
    assert "123456789" not in text and "987654321" not in text
    rows = read(text)
    assert [r["actor"] for r in rows] == ["staff-1", "staff-2", "coach"]
    assert rows[1]["detail"] == "role=guide; user=staff-1"
    assert rows[0]["patient"] == "P-0001"
