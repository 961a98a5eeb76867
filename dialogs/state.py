"""What the engine knows about one patient between two events, as plain JSON-able data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

MENU = "menu"
MENU_STEP = "main"


class Status(StrEnum):
    NEW = "new"
    ONBOARDING = "onboarding"
    ACTIVE = "active"  # consented, taking the course
    DECLINED = "declined"
    STOPPED = "stopped"
    NOT_ELIGIBLE = "not_eligible"  # screened out (or referred): never enrolled


Awaiting = Literal["button", "text"]
# A question asked on top of the patient's place, named by the stage that asks it (dialogs/stage.py):
# "stop" (do you want to stop?), "guide" (writing to the guide), "guide_confirm" (send this to the guide?).
Overlay = str


@dataclass(frozen=True)
class Place:
    flow: str
    step: str


@dataclass(frozen=True)
class Survey:
    """A questionnaire the patient is part way through, and the ones after it on this occasion."""

    occasion: str  # baseline, week-3, post ...
    questionnaire: str
    index: int = 0  # the item being asked
    answers: dict[str, int] = field(default_factory=dict)  # item id -> value
    queue: tuple[str, ...] = ()  # questionnaires still to come on this occasion
    alerted: str | None = None  # the risk level already raised for this questionnaire


@dataclass(frozen=True)
class PatientState:
    code: str
    locale: str
    timezone: str = "UTC"
    status: Status = Status.NEW
    country: str | None = None
    consented_at: datetime | None = None
    flow: str | None = None
    step: str | None = None
    prompt: int = 0  # number of the latest prompt; its buttons carry it, older ones are stale
    awaiting: Awaiting | None = None
    overlay: Overlay | None = None  # a question asked on top of the current place (stop?)
    lesson_place: Place | None = None  # where the patient is in the lesson they are taking
    lessons_done: tuple[int, ...] = ()
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # flow -> key -> text
    picking: tuple[str, ...] = ()  # what is ticked so far on the current `pick` step
    entries: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # tool -> recent entries
    survey: Survey | None = None  # a questionnaire in progress (kept while the patient does other things)
    surveys_done: tuple[str, ...] = ()  # "<occasion>/<questionnaire>" done
    announced: tuple[str, ...] = ()  # occasions the patient was told are ready
    scores: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # questionnaire -> results, oldest first
    flagged: tuple[str, ...] = ()  # "<stepped-care rule>/<occasion>" already flagged to the guide
    guide_draft: tuple[int, ...] = ()  # message ids the patient may send to their guide (asked first)
    guide_unscreened: tuple[tuple[int, str], ...] = ()  # (message id, kind) in the draft not read for risk
    risk_held: tuple[str, ...] = ()  # messages held back after risk language, sent when the patient carries on
    # Reminders (issue 5): the daily practice time chosen (None: the programme's), a pause, or off.
    reminder_time: str | None = None
    reminders_paused_until: datetime | None = None
    reminders_off: bool = False
    lessons_finished_at: dict[str, str] = field(default_factory=dict)  # lesson number -> ISO time, UTC
    # Enrolment (issue 12), from the patient's row: their site, programme (service | trial), trial
    # arm (course | waitlist, once allocated) and eligibility (None: not screened; pending ...).
    site: str | None = None
    programme: str = "service"
    arm: str | None = None
    eligibility: str | None = None
    course_from: datetime | None = None  # trial: when their course began (lesson 1's day 0)

    @property
    def lessons_from(self) -> datetime | None:
        """Day 0 of the lessons: consent in service mode; in a trial, when their course began
        (at allocation to the course arm; after follow-up for the waiting list)."""
        return self.consented_at if self.programme != "trial" else self.course_from

    @property
    def waiting_list(self) -> bool:
        return self.programme == "trial" and self.arm == "waitlist"

    @property
    def consented(self) -> bool:
        return self.consented_at is not None

    @property
    def place(self) -> Place | None:
        return Place(self.flow, self.step) if self.flow and self.step else None

    def with_answer(self, flow: str, key: str, value: str) -> PatientState:
        flow_answers = {**self.answers.get(flow, {}), key: value}
        return replace(self, answers={**self.answers, flow: flow_answers})

    # The dialog part of the state, as stored in the dialog_state row.

    def dialog_data(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "awaiting": self.awaiting,
            "overlay": self.overlay,
            "lesson_place": asdict(self.lesson_place) if self.lesson_place else None,
            "lessons_done": list(self.lessons_done),
            "answers": self.answers,
            "picking": list(self.picking),
            "entries": self.entries,
            "survey": asdict(self.survey) if self.survey else None,
            "surveys_done": list(self.surveys_done),
            "announced": list(self.announced),
            "scores": self.scores,
            "flagged": list(self.flagged),
            "guide_draft": list(self.guide_draft),
            "guide_unscreened": [list(pair) for pair in self.guide_unscreened],
            "risk_held": list(self.risk_held),
            "reminder_time": self.reminder_time,
            "reminders_paused_until": self.reminders_paused_until.isoformat() if self.reminders_paused_until else None,
            "reminders_off": self.reminders_off,
            "lessons_finished_at": self.lessons_finished_at,
            "course_from": self.course_from.isoformat() if self.course_from else None,
        }

    @staticmethod
    def dialog_fields(data: dict[str, Any]) -> dict[str, Any]:
        place = data.get("lesson_place")
        return {
            "prompt": int(data.get("prompt", 0)),
            "awaiting": data.get("awaiting"),
            "overlay": data.get("overlay"),
            "lesson_place": Place(**place) if place else None,
            "lessons_done": tuple(int(n) for n in data.get("lessons_done", ())),
            "answers": {str(f): dict(a) for f, a in data.get("answers", {}).items()},
            "picking": tuple(data.get("picking", ())),
            "entries": {str(t): [dict(e) for e in entries] for t, entries in data.get("entries", {}).items()},
            "survey": _survey(data.get("survey")),
            "surveys_done": tuple(data.get("surveys_done", ())),
            "announced": tuple(data.get("announced", ())),
            "scores": {str(q): [dict(r) for r in rows] for q, rows in data.get("scores", {}).items()},
            "flagged": tuple(data.get("flagged", ())),
            "guide_draft": tuple(int(m) for m in data.get("guide_draft", ())),
            "guide_unscreened": tuple((int(m), str(k)) for m, k in data.get("guide_unscreened", ())),
            "risk_held": tuple(str(t) for t in data.get("risk_held", ())),
            "reminder_time": data.get("reminder_time"),
            "reminders_paused_until": datetime.fromisoformat(paused)
            if (paused := data.get("reminders_paused_until"))
            else None,
            "reminders_off": bool(data.get("reminders_off", False)),
            "lessons_finished_at": {str(n): str(t) for n, t in data.get("lessons_finished_at", {}).items()},
            "course_from": datetime.fromisoformat(began) if (began := data.get("course_from")) else None,
        }


def _survey(data: dict[str, Any] | None) -> Survey | None:
    if not data:
        return None
    return Survey(
        occasion=str(data["occasion"]),
        questionnaire=str(data["questionnaire"]),
        index=int(data.get("index", 0)),
        answers={str(k): int(v) for k, v in data.get("answers", {}).items()},
        queue=tuple(data.get("queue", ())),
        alerted=data.get("alerted"),
    )
