"""The FHIR export (fhir.json): an R4 Bundle (type collection) of the Questionnaire resources, made
from the questionnaire content with its codes (LOINC where they exist: `code`, `total_code`, item
and answer codes), and one QuestionnaireResponse per finished questionnaire, whose subject is the
pseudonymous patient code as an identifier (no Patient resource, no Telegram id, no name), and
whose `meta.tag` carries the consent and content versions the patient consented under."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from content.schema import Coding, Questionnaire, QuestionnaireItem
from research.dataset import Dataset, Participant, Result

CODE_SYSTEM = "urn:paincoach:patient-code"  # the identifier system of pseudonymous codes
RESPONSE_SYSTEM = "urn:paincoach:questionnaire-response"  # <code>/<occasion>/<questionnaire>
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
# The versions a patient consented under (issue 12), as meta tags on each of their responses.
CONSENT_VERSION_SYSTEM = "urn:paincoach:consent-version"  # the consent text's `version:` field
CONTENT_VERSION_SYSTEM = "urn:paincoach:content-version"  # the course content's version at consent
_NAMESPACE = uuid.UUID("6f0c4c1e-3a52-4f8e-9a55-1d3e6b8f2c10")  # stable ids from stable names


def canonical(questionnaire: Questionnaire) -> str:
    return f"urn:paincoach:questionnaire:{questionnaire.id}"


def _coding(code: Coding) -> dict[str, str]:
    found = {"system": code.system, "code": code.code}
    if code.display:
        found["display"] = code.display
    return found


def _answer_coding(questionnaire: Questionnaire, value: int, label: str, code: Coding | None) -> dict[str, str]:
    if code is not None:
        return {**_coding(code), "display": code.display or label}
    return {"system": f"urn:paincoach:answers:{questionnaire.id}", "code": str(value), "display": label}


def _total_id(questionnaire: Questionnaire) -> str:
    return f"{questionnaire.id}_total"


def _item(questionnaire: Questionnaire, item: QuestionnaireItem) -> dict[str, Any]:
    found: dict[str, Any] = {"linkId": item.id, "text": item.text, "required": True}
    if item.code:
        found["code"] = [_coding(item.code)]
    if item.scale is not None:
        found["type"] = "integer"
        return found
    found["type"] = "choice"
    found["answerOption"] = [
        {
            "valueCoding": _answer_coding(questionnaire, o.value, o.label, o.code),
            "extension": [{"url": ORDINAL, "valueDecimal": o.value}],
        }
        for o in questionnaire.answers(item)
    ]
    return found


def questionnaire_resource(questionnaire: Questionnaire) -> dict[str, Any]:
    low, high = questionnaire.score_range()
    total: dict[str, Any] = {
        "linkId": _total_id(questionnaire),
        "text": f"{questionnaire.title} total ({low:g}-{high:g})",
        "type": "integer" if questionnaire.scoring.decimals == 0 else "decimal",
        "readOnly": True,
    }
    if questionnaire.total_code:
        total["code"] = [_coding(questionnaire.total_code)]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire.id,
        "url": canonical(questionnaire),
        "name": questionnaire.id.upper(),
        "title": questionnaire.title,
        "status": "active",
        "subjectType": ["Patient"],
        "item": [_item(questionnaire, item) for item in questionnaire.items] + [total],
    }
    if questionnaire.code:
        resource["code"] = [_coding(questionnaire.code)]
    return resource


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def version_tags(participant: Participant) -> list[dict[str, str]]:
    """The consent text's version and the course content's version, as Codings for `meta.tag`."""
    tags = []
    if participant.consent_version:
        tags.append({"system": CONSENT_VERSION_SYSTEM, "code": participant.consent_version})
    if participant.content_version:
        tags.append({"system": CONTENT_VERSION_SYSTEM, "code": participant.content_version})
    return tags


def response_resource(participant: Participant, result: Result, questionnaire: Questionnaire) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for item in questionnaire.items:
        value = result.answers.get(item.id)
        if value is None:
            continue
        entry: dict[str, Any] = {"linkId": item.id}
        if item.scale is not None:
            entry["answer"] = [{"valueInteger": value}]
        else:
            option = next((o for o in questionnaire.answers(item) if o.value == value), None)
            label = option.label if option else str(value)
            entry["answer"] = [
                {"valueCoding": _answer_coding(questionnaire, value, label, option.code if option else None)}
            ]
        items.append(entry)
    if result.total is not None:
        key = "valueInteger" if questionnaire.scoring.decimals == 0 else "valueDecimal"
        total = int(result.total) if key == "valueInteger" else result.total
        items.append({"linkId": _total_id(questionnaire), "answer": [{key: total}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": _id(participant.code, result.occasion, result.questionnaire),
        "identifier": {
            "system": RESPONSE_SYSTEM,
            "value": f"{participant.code}/{result.occasion}/{result.questionnaire}",
        },
        "questionnaire": canonical(questionnaire),
        "status": "completed",
        "subject": {"identifier": {"system": CODE_SYSTEM, "value": participant.code}},
        "authored": _instant(result.at),
        "item": items,
    }
    if tags := version_tags(participant):
        resource["meta"] = {"tag": tags}
    return resource


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def bundle(dataset: Dataset, questionnaires: dict[str, Questionnaire], now: datetime) -> dict[str, Any]:
    """The Bundle: every questionnaire, then every response (by patient, in the order they were given)."""
    entries: list[dict[str, Any]] = []
    for each in questionnaires.values():
        entries.append(
            {"fullUrl": f"urn:uuid:{_id('questionnaire', each.id)}", "resource": questionnaire_resource(each)}
        )
    for participant in dataset.participants:
        for result in participant.results:
            questionnaire = questionnaires.get(result.questionnaire)
            if questionnaire is None:
                continue
            resource = response_resource(participant, result, questionnaire)
            entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    return {
        "resourceType": "Bundle",
        "id": _id("bundle", _instant(now)),
        "type": "collection",
        "timestamp": _instant(now),
        "entry": entries,
    }


def validate(document: dict[str, Any]) -> None:
    """Raise if the Bundle is not valid FHIR, checked with fhir.resources' models of R4B (4.3, the
    R4 technical correction: Bundle, Questionnaire and QuestionnaireResponse as in R4 4.0.1)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(document)
