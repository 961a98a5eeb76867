"""What the engine asks the outside world to do: the engine's outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Send:
    """A message to the patient, in Telegram HTML, with inline buttons (one row each)."""

    text: str
    buttons: tuple[Button, ...] = ()
    urgent: bool = False  # goes ahead of everything else waiting for this chat
    per_row: int = 1
    ref: str | None = None  # a name for this message, so timed edits can find it
    at: datetime | None = None  # send at this time (a planned reminder) rather than now
    group: str | None = None  # timed messages of one kind, cancellable together
    # One at a time: the latest earlier message sent under this name loses its buttons (or, not
    # sent yet, is not sent at all), so a burst of messages leaves one live question, not many.
    replaces: str | None = None


@dataclass(frozen=True)
class Edit:
    """Rewrite an earlier message of the coach's, removing its buttons."""

    message_id: int
    text: str
    buttons: tuple[Button, ...] = ()
    per_row: int = 1


@dataclass(frozen=True)
class TimedEdit:
    after_seconds: int
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class ScheduleEdits:
    """Rewrite the message named `ref` at the given times (a paced exercise); `group` can cancel them."""

    ref: str
    group: str
    edits: tuple[TimedEdit, ...]


@dataclass(frozen=True)
class CancelEdits:
    group: str


@dataclass(frozen=True)
class SaveEntry:
    """One use of a skills tool: everything the patient entered."""

    tool: str
    answers: dict[str, str]


@dataclass(frozen=True)
class ShareEntry:
    """The patient shares a saved tool entry with their guide: a card in their topic, to answer."""

    tool: str
    title: str  # the tool's title
    number: str  # the entry's number for that tool
    saved: str  # the day it was saved, in the patient's words ("Monday 2 March")
    summary: str  # the tool's summary of the entry (Telegram HTML, the patient's words escaped)


@dataclass(frozen=True)
class SendHandout:
    """A lesson's key points and do-it-yourself guide as a file to keep (the coach makes the PDF)."""

    filename: str
    title: str
    sections: tuple[tuple[str, str], ...]  # (heading, plain text)
    caption: str  # Telegram HTML


@dataclass(frozen=True)
class Toast:
    """The answer to a button tap: a short notice, or None to just stop the spinner."""

    text: str | None = None


@dataclass(frozen=True)
class SaveAnswer:
    flow: str
    step: str
    key: str
    value: str


@dataclass(frozen=True)
class NotifyStaff:
    """A message for the guides in the staff chat, in Telegram HTML."""

    text: str


@dataclass(frozen=True)
class RaiseAlert:
    """A risk signal: the guides must be alerted and someone must acknowledge it.

    `level` is "urgent" (act now) or "review" (within one working day); `reason` says what was
    seen, `excerpt` is what the patient wrote (escaped later), for the guide to judge.
    """

    level: str
    reason: str
    excerpt: str = ""


@dataclass(frozen=True)
class SaveResult:
    """A finished questionnaire: its answers and score (`total` None when it could not be scored)."""

    questionnaire: str
    occasion: str
    answers: dict[str, int]
    total: float | None
    shown: str  # the total as shown: "12", "4.3"
    band: str | None
    subscales: dict[str, float | None]
    change: float | None = None  # since the baseline result


@dataclass(frozen=True)
class FlagForReview:
    """Stepped care: a rule met by the patient's results; the guide should review their care."""

    rule: str
    occasion: str
    reason: str
    text: str  # the message for the guides, in Telegram HTML


@dataclass(frozen=True)
class ChartSeries:
    label: str
    points: tuple[tuple[str, float], ...]  # (local date, ISO format; total), oldest first
    low: float
    high: float


@dataclass(frozen=True)
class SendChart:
    """A picture of the patient's scores over time, drawn by the coach (PNG) and sent as a photo."""

    series: tuple[ChartSeries, ...]
    caption: str


@dataclass(frozen=True)
class RelayToGuide:
    """Copy these messages of the patient's to their guide; the coach tells the patient they
    arrived and when to expect an answer (office hours are the coach's to know)."""

    message_ids: tuple[int, ...]
    unscreened: tuple[tuple[int, str], ...] = ()  # (message id, kind) of those not read for risk: "voice" ...


@dataclass(frozen=True)
class RecordScreening:
    """An eligibility screening ended: its answers (option ids) and the decision."""

    flow: str
    decision: str  # eligible | not_eligible | referred
    reason: str  # the end step that decided
    answers: dict[str, str]


@dataclass(frozen=True)
class SaveContact:
    """The patient's GP or emergency contact, for the staff card only (never logged, never kept in state)."""

    text: str


@dataclass(frozen=True)
class RecordConsent:
    """Consent given or declined, with the consent text's version (the course content's is the coach's)."""

    given: bool
    consent_version: str


@dataclass(frozen=True)
class Allocate:
    """Trial mode: the baseline is done; allocate the patient (the coach holds the seed and the
    sequence), then tell the engine the arm (a `Due("allocated", arm)` event)."""

    site: str | None
    phq9_band: str | None


@dataclass(frozen=True)
class AskedAboutRisk:
    """The patient was asked the safety question about what they wrote; the coach keeps it, and
    raises a review alert if it is left unanswered for an hour."""

    reason: str
    excerpt: str = ""


@dataclass(frozen=True)
class AnsweredAboutRisk:
    """The answer to the safety question: the coach raises the alert it calls for (yes and unsure:
    urgent; no: review), with what the patient had written."""

    answer: str  # yes | no | unsure


class ExportMyData:
    """The patient asked for their data (/privacy): the coach sends everything stored about them."""


@dataclass(frozen=True)
class EraseMyData:
    """The patient confirmed "Delete my data" (/privacy): the coach erases them, last in the transaction."""


Action = (
    Send
    | AskedAboutRisk
    | AnsweredAboutRisk
    | Edit
    | Toast
    | SaveAnswer
    | NotifyStaff
    | RaiseAlert
    | ScheduleEdits
    | CancelEdits
    | SaveEntry
    | SaveResult
    | FlagForReview
    | SendChart
    | RelayToGuide
    | ShareEntry
    | SendHandout
    | RecordScreening
    | SaveContact
    | RecordConsent
    | Allocate
    | ExportMyData
    | EraseMyData
)
