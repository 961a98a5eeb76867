"""The shape of course content: flows of steps, interface texts and crisis contacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

STEP_ID = r"^[a-z0-9][a-z0-9-]*$"
CHOICE_ID = r"^[a-z0-9_-]+$"

Outcome = Literal[
    "lesson_complete",
    "consent_given",
    "consent_declined",
    "resource_done",
    "entry_saved",
    "eligible",
    "not_eligible",
    "referred",  # eligibility screening (flows/eligibility.yaml)
    "try_logged",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ButtonSpec(Strict):
    id: str = Field(pattern=CHOICE_ID)
    label: str = Field(min_length=1, max_length=64)
    next: str | None = None


class OptionSpec(Strict):
    id: str = Field(pattern=CHOICE_ID)
    label: str = Field(min_length=1, max_length=64)
    next: str | None = None


class QuizOption(Strict):
    id: str = Field(pattern=CHOICE_ID)
    label: str = Field(min_length=1, max_length=64)
    correct: bool = False
    feedback: str = Field(min_length=1)


class MessageStep(Strict):
    type: Literal["message"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    button: str | None = Field(default=None, min_length=1, max_length=64)
    buttons: tuple[ButtonSpec, ...] | None = None
    next: str | None = None

    @model_validator(mode="after")
    def _one_kind_of_button(self) -> MessageStep:
        if self.button is not None and self.buttons is not None:
            raise ValueError("use either `button` or `buttons`, not both")
        if self.buttons is not None and not self.buttons:
            raise ValueError("`buttons` needs at least one button")
        return self

    @property
    def waits(self) -> bool:
        return self.button is not None or self.buttons is not None


class QuestionStep(Strict):
    type: Literal["question"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    skip: str | None = Field(default=None, min_length=1, max_length=64)
    reply: str | None = None
    forward_to_guide: bool = False
    numeric: bool = False  # the answer is a number (0 or more): anything else is asked again, kindly
    next: str | None = None


class ChoiceStep(Strict):
    type: Literal["choice"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    options: tuple[OptionSpec, ...] = Field(min_length=1)
    save_as: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    profile: Literal["country", "timezone"] | None = None
    next: str | None = None


class QuizStep(Strict):
    type: Literal["quiz"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    options: tuple[QuizOption, ...] = Field(min_length=2)
    next: str | None = None

    @model_validator(mode="after")
    def _has_right_answer(self) -> QuizStep:
        if not any(option.correct for option in self.options):
            raise ValueError("a quiz needs at least one option with `correct: true`")
        return self


class ScaleStep(Strict):
    """A rating on buttons, such as how strong a feeling is (0-100) or how much fear (0-10)."""

    type: Literal["scale"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    min: int = 0
    max: int = 10
    step: int = Field(default=1, ge=1)
    next: str | None = None

    @model_validator(mode="after")
    def _sensible(self) -> ScaleStep:
        if self.max <= self.min or len(self.values()) > 21:
            raise ValueError("a scale needs max above min and at most 21 buttons")
        return self

    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1, self.step))


class PickStep(Strict):
    """Several choices ticked on and off on one message, then Done; typed items are added too."""

    type: Literal["pick"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    save_as: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    options: tuple[OptionSpec, ...] = Field(min_length=1)
    done: str = Field(min_length=1, max_length=64)
    next: str | None = None


class BreathingStep(Strict):
    """A paced breathing exercise: one message whose cue changes on a timer, with a Stop button."""

    type: Literal["breathing"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)  # shown above the cue
    minutes_from: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # the answer holding the minutes
    breathe_in: int = Field(default=3, ge=1, le=10)
    breathe_out: int = Field(default=3, ge=1, le=10)
    rest: int = Field(default=1, ge=0, le=10)
    cue_in: str = Field(min_length=1)
    cue_out: str = Field(min_length=1)
    cue_rest: str = Field(min_length=1)
    finished: str = Field(min_length=1)
    stopped: str = Field(min_length=1)
    stop: str = Field(min_length=1, max_length=64)
    carry_on: str = Field(min_length=1, max_length=64)
    next: str | None = None


class EndStep(Strict):
    type: Literal["end"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    outcome: Outcome
    # An urgent alert for the guides, with this reason; the end text then goes ahead of everything.
    alert: str | None = Field(default=None, min_length=1, max_length=200)


class ContactStep(Strict):
    """Eligibility: the patient's GP or emergency contact, typed; kept on the patient's record for
    staff only (never in answers, logs or the conversation's state)."""

    type: Literal["contact"]
    id: str = Field(pattern=STEP_ID)
    text: str = Field(min_length=1)
    reply: str | None = None
    next: str | None = None


Step = Annotated[
    MessageStep | QuestionStep | ChoiceStep | QuizStep | ScaleStep | PickStep | BreathingStep | ContactStep | EndStep,
    Field(discriminator="type"),
]


class ReminderSpec(Strict):
    """A tool's reminder: at the day and time of day the patient chose, with Done / Not this time."""

    day: str  # the answer holding today | tomorrow | mon ... sun
    time: str  # the answer holding a time of day named in program.yaml (morning, afternoon ...)
    text: str = Field(min_length=1)  # a template over the entry's answers


# What a tool's progression adds to each of its entries (dialogs/progressions.py), so its texts may quote them.
PROGRESSION_ANSWERS: dict[str, frozenset[str]] = {
    "ladder": frozenset({"ladder_step", "ladder_rung", "ladder_tries", "ladder_climbed"}),
    "pacing": frozenset({"pacing_quota", "pacing_step_up", "pacing_every", "pacing_schedule", "pacing_unit"}),
    "pleasant": frozenset(),
}
FOLLOW_UP_ANSWER = "for_entry"  # a follow-up flow's answers: its tool entry's number, beside the entry's answers


class FollowUpSpec(Strict):
    """A tool's follow-up: the flow its reminder's first button opens (a try on the ladder, rating
    a pleasant activity), which logs how the planned try went."""

    flow: str = Field(pattern=STEP_ID)
    label: str = Field(min_length=1, max_length=40)


class HandoutSpec(Strict):
    """A lesson's keepsake, sent as a PDF on request: the steps holding its key points and its
    do-it-yourself guide, their texts as the lesson shows them."""

    key_points: tuple[str, ...] = Field(min_length=1)
    diy: tuple[str, ...] = Field(min_length=1)


class ReviewSpec(Strict):
    """Reviews planned once the course is over (the staying-well plan): a message every
    `every_days` days from the end of the course, `times` times, at a time of day from program.yaml."""

    every_days: int = Field(default=30, ge=7)
    times: int = Field(default=6, ge=1, le=24)
    time: str = "morning"
    text: str = Field(min_length=1)  # a template over the entry's answers


class Flow(Strict):
    """A graph of steps the patient walks through: onboarding or a lesson."""

    id: str = Field(pattern=STEP_ID)
    kind: Literal["lesson", "onboarding", "resource", "tool", "eligibility"]
    number: int | None = Field(default=None, ge=1)
    version: str | None = Field(default=None, min_length=1, max_length=64)  # onboarding: the consent text's version
    site: str | None = Field(default=None, min_length=1, max_length=64)  # eligibility: the site it is for (none: all)
    title: str = Field(min_length=1)
    unlocked_by: int | None = Field(default=None, ge=1)  # tools: the lesson that unlocks it
    summary: str | None = None  # tools: how one saved entry reads, from its `answers`
    reminder: ReminderSpec | None = None  # tools: remind the patient of their plan, and log it
    # tools (issue 15): how the tool moves on (dialogs/progressions.py), the flow its reminder
    # opens, the tool a follow-up flow logs tries for (a follow-up is not listed on its own), reviews
    progression: Literal["ladder", "pacing", "pleasant"] | None = None
    follow_up: FollowUpSpec | None = None
    follow_up_of: str | None = None
    review: ReviewSpec | None = None
    # lessons (issue 15): the extra reading that fits it (resource ids), and its handout
    reading: tuple[str, ...] = ()
    handout: HandoutSpec | None = None
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _lessons_are_numbered(self) -> Flow:
        if self.kind == "lesson" and self.number is None:
            raise ValueError("a lesson needs a `number`")
        if self.kind == "tool" and (self.unlocked_by is None or self.summary is None):
            raise ValueError("a tool needs `unlocked_by` (a lesson number) and a `summary`")
        if self.kind == "onboarding" and self.version is None:
            raise ValueError(
                "the onboarding flow holds the consent text: give it a `version` (recorded with each consent)"
            )
        return self

    @property
    def first(self) -> str:
        return self.steps[0].id

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"{self.id} has no step {step_id!r}")

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def following(self, step_id: str) -> str | None:
        """Where a step goes when it names no `next`: the step below it."""
        ids = [step.id for step in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else None

    def next_of(self, step: Step) -> str | None:
        if isinstance(step, EndStep):
            return None
        return step.next or self.following(step.id)

    def targets(self, step: Step) -> list[str]:
        """Every step this one can lead to."""
        default = self.next_of(step)
        if isinstance(step, MessageStep) and step.buttons:
            return [b.next or default for b in step.buttons if (b.next or default)]  # type: ignore[misc]
        if isinstance(step, ChoiceStep):
            return [o.next or default for o in step.options if (o.next or default)]  # type: ignore[misc]
        return [default] if default else []

    def available_keys(self, flows: Mapping[str, Flow]) -> set[str]:
        """The answers its texts may quote: those its steps save, what its progression adds, and
        for a follow-up flow, its tool's answers and the entry number too."""
        keys = self.saved_keys() | PROGRESSION_ANSWERS.get(self.progression or "", frozenset())
        parent = flows.get(self.follow_up_of or "")
        if parent is not None and parent is not self:
            keys |= parent.saved_keys() | PROGRESSION_ANSWERS.get(parent.progression or "", frozenset())
            keys.add(FOLLOW_UP_ANSWER)
        return keys

    def saved_keys(self) -> set[str]:
        keys: set[str] = set()
        for step in self.steps:
            key = getattr(step, "save_as", None)
            if key:
                keys.add(key)
            if isinstance(step, BreathingStep):
                keys.add("completed")  # yes, or stopped
        return keys


# -- questionnaires ------------------------------------------------------------------------------

ITEM_ID = r"^[a-z0-9_]+$"


class Coding(Strict):
    """A code from a terminology (LOINC by default) for a questionnaire, its total, an item or an
    answer, carried into the research exports (FHIR, the REDCap dictionary); a site adds its own."""

    system: str = Field(default="http://loinc.org", min_length=1)
    code: str = Field(min_length=1, max_length=64)
    display: str | None = None


class AnswerOption(Strict):
    """One answer to a questionnaire item: what the patient taps and the value it scores."""

    value: int
    label: str = Field(min_length=1, max_length=64)
    code: Coding | None = None  # e.g. LOINC LA6568-5 "Not at all"


class ItemScale(Strict):
    """A numeric rating on buttons, `min` to `max`, with the words for its two ends."""

    min: int = 0
    max: int = 10
    low: str = Field(min_length=1)  # what `min` means, e.g. "no pain"
    high: str = Field(min_length=1)  # what `max` means

    @model_validator(mode="after")
    def _sensible(self) -> ItemScale:
        if self.max <= self.min or self.max - self.min > 20:
            raise ValueError("a scale needs max above min and at most 21 values")
        return self


class QuestionnaireItem(Strict):
    id: str = Field(pattern=ITEM_ID)
    text: str = Field(min_length=1)
    options: tuple[AnswerOption, ...] | None = None  # this item's own answers (default: the shared set)
    scale: ItemScale | None = None  # or a numeric rating
    reverse: bool = False  # scored max + min - value
    code: Coding | None = None  # the item's code (LOINC), for the research exports

    @model_validator(mode="after")
    def _one_kind_of_answer(self) -> QuestionnaireItem:
        if self.options is not None and self.scale is not None:
            raise ValueError("give an item either `options` or a `scale`, not both")
        if self.options is not None and len({o.value for o in self.options}) != len(self.options):
            raise ValueError("two options have the same value")
        return self


class Subscale(Strict):
    """Items scored together: their sum (or mean) divided by `divide_by`; with `method: subscales`
    the total is the sum of the subscales (FIQR: function sum / 3 + overall sum + symptom sum / 2)."""

    id: str = Field(pattern=ITEM_ID)
    title: str = Field(min_length=1)
    items: tuple[str, ...] = Field(min_length=1)
    method: Literal["sum", "mean"] = "sum"
    divide_by: float = Field(default=1.0, gt=0)
    max_missing: int = Field(default=0, ge=0)  # more missing than this makes the whole result invalid
    prorate: bool = True  # a missing item (within max_missing) counts as the mean of the answered ones


class Scoring(Strict):
    method: Literal["sum", "mean", "subscales"] = "sum"
    max_missing: int = Field(default=0, ge=0)  # for sum and mean: items that may be left out
    prorate: bool = True  # sum: missing items count as the mean of the answered ones
    subscales: tuple[Subscale, ...] = ()
    decimals: int = Field(default=0, ge=0, le=2)  # how the total is shown

    @model_validator(mode="after")
    def _subscales_when_needed(self) -> Scoring:
        if self.method == "subscales" and not self.subscales:
            raise ValueError("`method: subscales` needs `subscales`")
        return self


class Band(Strict):
    """A range of totals from `min` (inclusive) up to the next band's `min`; the last reaches the top."""

    id: str = Field(pattern=ITEM_ID)
    min: float
    label: str = Field(min_length=1)  # for the guides, e.g. "moderate"
    message: str = Field(min_length=1)  # for the patient: plain, caring words, no clinical labels


class RiskRule(Strict):
    """An answer that needs a person: item `item` at `at_least` or more raises a `level` alert."""

    item: str = Field(pattern=ITEM_ID)
    at_least: int
    level: Literal["review", "urgent"]
    reason: str = Field(min_length=1, max_length=200)  # for the guides


class Questionnaire(Strict):
    """A measure asked one item per message; scored, banded and checked for risk (dialogs/scoring.py)."""

    id: str = Field(pattern=CHOICE_ID)
    title: str = Field(min_length=1, max_length=40)  # short, for guides and charts: "PHQ-9"
    name: str = Field(min_length=1, max_length=64)  # for the patient: "Your mood"
    intro: str = Field(min_length=1)  # shown before the first item
    stem: str | None = None  # shown above every item ("Over the last 2 weeks ...")
    options: tuple[AnswerOption, ...] | None = None  # the answers shared by every item
    items: tuple[QuestionnaireItem, ...] = Field(min_length=1)
    scoring: Scoring = Field(default_factory=Scoring)
    bands: tuple[Band, ...] = ()
    risk: tuple[RiskRule, ...] = ()
    chart: bool = True  # drawn on the /progress chart
    code: Coding | None = None  # the questionnaire's (panel's) code, e.g. LOINC 44249-1 for the PHQ-9
    total_code: Coding | None = None  # the total score's code, e.g. LOINC 44261-6

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("two items have the same id")
        if self.options is not None and len({o.value for o in self.options}) != len(self.options):
            raise ValueError("two shared options have the same value")
        for item in self.items:
            if item.options is None and item.scale is None and not self.options:
                raise ValueError(f"item {item.id}: no answers (give shared `options`, or the item's own)")
        for subscale in self.scoring.subscales:
            for item_id in subscale.items:
                if item_id not in ids:
                    raise ValueError(f"subscale {subscale.id}: no item {item_id!r}")
        low, high = self.score_range()
        mins = [band.min for band in self.bands]
        if self.bands and (mins != sorted(set(mins)) or mins[0] != low or mins[-1] > high):
            raise ValueError(
                f"bands must start at the lowest score ({low:g}), go up in order and start at or below {high:g}"
            )
        for rule in self.risk:
            if rule.item not in ids:
                raise ValueError(f"risk rule: no item {rule.item!r}")
            if rule.at_least not in self.values(self.item(rule.item)):
                raise ValueError(f"risk rule: {rule.at_least} is not an answer to {rule.item}")
        return self

    def item(self, item_id: str) -> QuestionnaireItem:
        return next(item for item in self.items if item.id == item_id)

    def answers(self, item: QuestionnaireItem) -> tuple[AnswerOption, ...]:
        """The answers to one item, lowest value first."""
        if item.scale is not None:
            return tuple(AnswerOption(value=v, label=str(v)) for v in range(item.scale.min, item.scale.max + 1))
        return tuple(sorted(item.options or self.options or (), key=lambda o: o.value))

    def values(self, item: QuestionnaireItem) -> list[int]:
        return [o.value for o in self.answers(item)]

    def score_range(self) -> tuple[float, float]:
        """The lowest and highest total this questionnaire can give."""

        def group(item_ids: Sequence[str], method: str, divide_by: float = 1.0) -> tuple[float, float]:
            lows = [min(self.values(self.item(i))) for i in item_ids]
            highs = [max(self.values(self.item(i))) for i in item_ids]
            if method == "mean":
                return sum(lows) / len(lows) / divide_by, sum(highs) / len(highs) / divide_by
            return sum(lows) / divide_by, sum(highs) / divide_by

        if self.scoring.method != "subscales":
            return group([item.id for item in self.items], self.scoring.method)
        parts = [group(s.items, s.method, s.divide_by) for s in self.scoring.subscales]
        return sum(p[0] for p in parts), sum(p[1] for p in parts)


class QuestionnaireOccasion(Strict):
    """When questionnaires are given: on `day` (from consent, local time), or every `every` days
    from `day` to `until_day`; each occasion stays offered for `open_days` (default: until done)."""

    id: str = Field(pattern=STEP_ID)
    day: int = Field(ge=0)
    every: int | None = Field(default=None, ge=1)
    until_day: int | None = Field(default=None, ge=0)
    give: tuple[str, ...] = Field(min_length=1)
    open_days: int | None = Field(default=None, ge=1)
    remind_after_days: int | None = Field(default=3, ge=1)  # one gentle reminder if not done by then

    @model_validator(mode="after")
    def _repeat(self) -> QuestionnaireOccasion:
        if (self.every is None) != (self.until_day is None):
            raise ValueError("a repeated occasion needs both `every` and `until_day`")
        if self.until_day is not None and self.until_day < self.day:
            raise ValueError("`until_day` is before `day`")
        return self


class SteppedCareRule(Strict):
    """Flag a patient for the guide to review: the latest total `at_least` a value, a rise of
    `rise_from_baseline` or more since the first result, or `rises` rises in a row."""

    id: str = Field(pattern=STEP_ID)
    questionnaire: str = Field(pattern=CHOICE_ID)
    at_least: float | None = None
    rise_from_baseline: float | None = Field(default=None, gt=0)
    rises: int | None = Field(default=None, ge=1)
    reason: str = Field(min_length=1, max_length=200)  # for the guides

    @model_validator(mode="after")
    def _one_test(self) -> SteppedCareRule:
        if sum(x is not None for x in (self.at_least, self.rise_from_baseline, self.rises)) != 1:
            raise ValueError("give exactly one of `at_least`, `rise_from_baseline`, `rises`")
        return self


class CrisisContact(Strict):
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class ZoneChoice(Strict):
    """A time zone offered to patients of a country during onboarding and in /reminders."""

    label: str = Field(min_length=1)
    zone: str

    @model_validator(mode="after")
    def _known_zone(self) -> ZoneChoice:
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.zone!r}: use an IANA name such as Europe/London") from None
        return self


class Country(Strict):
    name: str
    contacts: tuple[CrisisContact, ...] = Field(min_length=1)
    timezones: tuple[ZoneChoice, ...] = ()


class CrisisDirectory(Strict):
    countries: dict[str, Country]

    @model_validator(mode="after")
    def _has_fallback(self) -> CrisisDirectory:
        if "other" not in self.countries:
            raise ValueError("crisis contacts need an `other` entry for everyone else")
        return self

    def for_country(self, code: str | None) -> Country:
        return self.countries.get((code or "other").lower(), self.countries["other"])


class PhraseFamily(Strict):
    """Phrases that say one kind of thing ("intent", "method", "burden" ...), and what it calls for:
    `urgent` (clear risk: the safety message and an urgent alert), `ask` (ambiguous: the patient is
    asked), `mention` (someone else's risk: the guides review it)."""

    tier: Literal["urgent", "ask", "mention"]
    about: str = ""  # for the clinicians who keep the list
    phrases: tuple[str, ...] = Field(min_length=1)


class SafetyPhrases(Strict):
    """Risk language to watch for in everything a patient writes (content/risk_language.py reads it)."""

    language: str = Field(min_length=2, max_length=8)  # the language of the lemmas (simplemma), e.g. en, ru
    families: dict[str, PhraseFamily] = Field(min_length=1)
    not_risk: tuple[str, ...] = ()  # idioms that look like risk and are not ("this pain is killing me")
    negations: tuple[str, ...] = ()  # right before a phrase, they undo it ("I don't want to die")
    fillers: tuple[str, ...] = ()  # words a negation may have between it and the phrase ("really")
    first_person: tuple[str, ...] = ()
    third_person: tuple[str, ...] = ()  # the nearest of these before a phrase makes it someone else's
    clause_breaks: tuple[str, ...] = ()  # words that begin a new clause ("but")

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(p for family in self.families.values() for p in family.phrases)


class LocaleContent(Strict):
    locale: str
    ui: dict[str, str]
    crisis: CrisisDirectory
    safety: SafetyPhrases
    flows: dict[str, Flow]
    questionnaires: dict[str, Questionnaire] = Field(default_factory=dict)

    def lessons(self) -> list[Flow]:
        return sorted((f for f in self.flows.values() if f.kind == "lesson"), key=lambda f: f.number or 0)

    def lesson(self, number: int) -> Flow | None:
        return next((f for f in self.lessons() if f.number == number), None)


class LessonRelease(Strict):
    lesson: int = Field(ge=1)
    opens_on_day: int = Field(ge=0)


def _is_clock(value: str) -> bool:
    hours, _, minutes = value.partition(":")
    return len(minutes) == 2 and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60


class Schedule(Strict):
    """When the scheduler writes to a patient, in their own time zone (see dialogs/due.py)."""

    release_at: str = "09:00"  # the local time a lesson's "it is open" message goes out on its day
    nudge_after_days: tuple[int, ...] = (3, 7)  # a released lesson not started after these many days
    behind_check_day: int = Field(default=10, ge=1)  # week 2: lesson 1 still not finished on this day
    weekly_message_at: str = "10:00"  # the guide's weekly message, on each week's first day
    weekly_message_weeks: int = Field(default=8, ge=0)
    practice_at: str = "18:30"  # the daily practice reminder, until the patient chooses a time
    practice_times: tuple[str, ...] = ("08:30", "12:30", "18:30", "20:00")  # choices in /reminders
    quiet_start: str = "21:00"  # nothing scheduled is sent from here ...
    quiet_end: str = "08:00"  # ... to here, local time; safety messages never wait

    @model_validator(mode="after")
    def _clocks(self) -> Schedule:
        named = {
            "release_at": self.release_at,
            "weekly_message_at": self.weekly_message_at,
            "practice_at": self.practice_at,
            "quiet_start": self.quiet_start,
            "quiet_end": self.quiet_end,
        }
        named.update({f"practice_times[{i}]": t for i, t in enumerate(self.practice_times)})
        for name, value in named.items():
            if not _is_clock(value):
                raise ValueError(f"schedule.{name}: expected HH:MM, such as 09:00")
        return self


class Program(Strict):
    """When each lesson opens, in days from the patient's start (the day they consented)."""

    lessons: tuple[LessonRelease, ...] = Field(min_length=1)
    # When "morning", "afternoon" ... are, in the patient's own time zone, for planned reminders.
    times_of_day: dict[str, str] = Field(
        default_factory=lambda: {"morning": "09:30", "afternoon": "14:00", "evening": "18:30"}
    )
    questionnaires: tuple[QuestionnaireOccasion, ...] = ()  # when questionnaires are given
    stepped_care: tuple[SteppedCareRule, ...] = ()  # when a patient is flagged for the guide to review
    schedule: Schedule = Field(default_factory=Schedule)
    # PHQ-9 item 9 answered "Several days": urgent by default (CLINICAL.md: any answer above "Not at
    # all" reaches a person at once); a site may make it "review" (within one working day).
    phq9_item9_several_days: Literal["urgent", "review"] = "urgent"

    @model_validator(mode="after")
    def _in_order(self) -> Program:
        numbers = [r.lesson for r in self.lessons]
        if numbers != sorted(set(numbers)):
            raise ValueError("list each lesson once, in order")
        days = [r.opens_on_day for r in self.lessons]
        if days != sorted(days):
            raise ValueError("a lesson cannot open before the lesson before it")
        return self

    @model_validator(mode="after")
    def _times(self) -> Program:
        for name, clock in self.times_of_day.items():
            hours, _, minutes = clock.partition(":")
            if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
                raise ValueError(f"times_of_day.{name}: expected HH:MM, such as 14:00")
        return self

    def opens_on_day(self, lesson: int) -> int | None:
        return next((r.opens_on_day for r in self.lessons if r.lesson == lesson), None)


class Content(Strict):
    default_locale: str
    locales: dict[str, LocaleContent]
    program: Program
    version: str = "unversioned"  # the course content's version: a hash of its files (recorded with consent)
    # every language's risk phrases: the courses' own, and folders that hold only a safety.yaml
    phrase_sets: dict[str, SafetyPhrases] = Field(default_factory=dict)

    def safety_sets(self, locale: str | None) -> list[SafetyPhrases]:
        """The phrase sets to read a patient's words with: their course's first, then every other."""
        first = self.for_locale(locale).safety
        return [first, *(s for s in self.phrase_sets.values() if s is not first)]

    def for_locale(self, locale: str | None) -> LocaleContent:
        return self.locales.get(locale or self.default_locale) or self.locales[self.default_locale]
