"""Enrolment's reading of the content (pure): which screening flow a patient gets (their site's, or
the general one), the onboarding flow, and the timetable's baseline and last occasions."""

from __future__ import annotations

from content.schema import Flow, LocaleContent, Program
from dialogs.occasions import Occasion, done_key, occasions
from dialogs.state import PatientState

PENDING = "pending"  # eligibility: to be screened
ELIGIBLE = "eligible"


def onboarding_flow(texts: LocaleContent) -> Flow:
    return next(f for f in texts.flows.values() if f.kind == "onboarding")


def screening_flows(texts: LocaleContent) -> list[Flow]:
    return [f for f in texts.flows.values() if f.kind == "eligibility"]


def screening_flow(texts: LocaleContent, site: str | None) -> Flow | None:
    """The site's own screening if it has one, else the general one (no `site`)."""
    flows = screening_flows(texts)
    own = next((f for f in flows if site is not None and f.site == site), None)
    return own or next((f for f in flows if f.site is None), None)


def first_flow(texts: LocaleContent, state: PatientState) -> Flow:
    """Where someone starting begins: the screening while it is still to do, else onboarding."""
    if state.eligibility == PENDING and (screening := screening_flow(texts, state.site)) is not None:
        return screening
    return onboarding_flow(texts)


def baseline(program: Program) -> Occasion | None:
    """The first occasion of the timetable (day 0): allocation follows it, in a trial."""
    found = occasions(program)
    return found[0] if found else None


def last_occasion(program: Program) -> Occasion | None:
    """The follow-up: the waiting list is offered the course once it is done."""
    found = occasions(program)
    return max(found, key=lambda o: o.day) if found else None


def occasion_done(state: PatientState, occasion: Occasion) -> bool:
    return all(done_key(occasion.key, q) in state.surveys_done for q in occasion.give)
