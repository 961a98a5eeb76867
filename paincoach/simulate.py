"""`paincoach simulate`: a whole trial (or service) before anyone is enrolled. Synthetic patients
join, are screened, consent, answer the questionnaires and take the lessons through the real coach
(the engine in dialogs/, the timetable of storage/due.py, allocation by coach/enrolment.py) on a
moved clock, one simulated day at a time; the guides log their weekly contacts with /checkin.

Every patient's behaviour comes from one random generator seeded with `--seed`, so a run is
reproducible. Scores drift by arm: the course arm's totals fall towards the original trial's
between-group effect sizes (PAIN 2017: depression d ≈ 0.7, pain d ≈ 0.87, smaller gains in
anxiety), scaled by `effect`; the waiting list's stay about where they were. Some patients drop
out, some stop the lessons early (the original: 87% completed, 86% satisfied)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from clock import ManualClock
from coach.desk import StaffPost
from coach.enrolment import Policy
from coach.services import Place, Services, build
from content.schema import Content, Questionnaire
from dialogs.events import Command, Event, Press, Start, Text
from dialogs.occasions import due as due_occasions
from dialogs.programme import LessonStatus, lesson_views
from dialogs.state import PatientState, Status
from storage.database import Database
from storage.enrolment import TRIAL
from storage.models import OutboxMessage, Patient, TrialSeed
from storage.patients import Person, load_state

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday, noon in London: outside the quiet hours
STAFF_CHAT = -1009990000
GUIDE = 9000001  # the simulated guide's Telegram id (an admin of the simulated clinic)
USER_BASE = 7_000_000  # synthetic Telegram ids: USER_BASE + n


@dataclass(frozen=True)
class Measure:
    """How one questionnaire's total behaves: baseline mean and SD, week-to-week noise, and the
    between-group effect size at post (Cohen's d) the course arm drifts towards."""

    mean: float
    sd: float
    noise: float
    effect: float


# The original trial's effects (CLINICAL.md): depression d 0.63-0.72, pain 0.87, anxiety smaller.
MEASURES = {
    "phq9": Measure(mean=13.0, sd=4.0, noise=3.0, effect=0.70),
    "gad7": Measure(mean=11.0, sd=4.0, noise=3.0, effect=0.45),
    "peg": Measure(mean=6.5, sd=1.4, noise=1.0, effect=0.87),
}
CALM_WORDS = (
    "I walked to the shop and back, slowly.",
    "My thought was that I can't do anything any more.",
    "Some days are better than others.",
    "I did ten minutes of gardening.",
    "I felt tense in my shoulders.",
)


@dataclass
class Synthetic:
    """One synthetic patient and what they will do."""

    number: int
    join_day: int
    level: dict[str, float]  # where each measure starts (baseline true score)
    keen: float  # chance of doing something on a given day
    dropout_day: int | None  # stops everything from this day
    lessons_wanted: int  # stops the lessons after this many
    weekly: float  # chance of answering a weekly questionnaire
    satisfied: bool
    rng: random.Random
    code: str | None = None
    answers: dict[str, dict[str, int]] = field(default_factory=dict)  # "<occasion>/<q>" -> item answers
    weeklies: dict[str, bool] = field(default_factory=dict)  # weekly occasion -> will answer it

    @property
    def person(self) -> Person:
        return Person(user_id=USER_BASE + self.number, chat_id=USER_BASE + self.number, language_code="en")


@dataclass(frozen=True)
class Options:
    patients: int = 60
    seed: int = 1
    mode: str = "trial"
    effect: float = 1.0  # 1.0: the original trial's effect sizes; 0: no effect
    dropout: float = 0.12
    enrol_over_days: int = 14
    days: int | None = None  # stop after this many simulated days (default: everyone's follow-up and two weeks)


def make_patients(options: Options) -> list[Synthetic]:
    rng = random.Random(options.seed)
    found = []
    for number in range(1, options.patients + 1):
        own = random.Random(rng.getrandbits(64))
        level = {name: own.gauss(m.mean, m.sd) for name, m in MEASURES.items()}
        drops = own.random() < options.dropout
        found.append(Synthetic(
            number=number,
            join_day=own.randrange(options.enrol_over_days),
            level=level,
            keen=own.uniform(0.5, 0.95),
            dropout_day=own.randrange(8, 60) if drops else None,
            lessons_wanted=5 if own.random() < 0.93 else own.randrange(1, 5),
            weekly=own.uniform(0.05, 0.3),
            satisfied=own.random() < 0.88,
            rng=own,
        ))  # fmt: skip
    return found


def total_for(patient: Synthetic, questionnaire: str, day: int, arm: str | None, effect: float) -> float:
    """The synthetic true score on `day` (days since consent): baseline level, the arm's drift, noise."""
    measure = MEASURES[questionnaire]
    spread = (measure.sd**2 + measure.noise**2) ** 0.5  # the SD of a later total
    progress = min(1.0, max(0.0, day / 56))
    drift = -measure.effect * effect * spread * progress if arm in ("course", None) else 0.0
    return patient.level[questionnaire] + drift + patient.rng.gauss(0, measure.noise) * (day > 0)


def item_answers(patient: Synthetic, questionnaire: Questionnaire, occasion: str, day: int, arm: str | None,
                 effect: float) -> dict[str, int]:  # fmt: skip
    """Answers to every item that give about the synthetic total (PHQ-9 item 9 always 0)."""
    items = questionnaire.items
    if questionnaire.id == "satisfaction":
        score = (5 if patient.rng.random() < 0.5 else 4) if patient.satisfied and arm != "waitlist" else 3
        return {item.id: max(1, min(5, score - (i > 0) * patient.rng.randrange(2))) for i, item in enumerate(items)}
    if questionnaire.id not in MEASURES:
        values = questionnaire.values(items[0])
        better = arm != "waitlist" and patient.rng.random() < 0.6
        return {item.id: values[1 if better else len(values) // 2] for item in items}
    target = total_for(patient, questionnaire.id, day, arm, effect)
    if questionnaire.scoring.method == "mean":
        low, high = min(questionnaire.values(items[0])), max(questionnaire.values(items[0]))
        return {item.id: max(low, min(high, round(target + patient.rng.gauss(0, 0.7)))) for item in items}
    scored = [item for item in items if not questionnaire.risk or item.id not in {r.item for r in questionnaire.risk}]
    top = max(questionnaire.values(items[0]))
    left = max(0, min(round(target), top * len(scored)))
    answers = {item.id: 0 for item in items}
    while left > 0:
        item = patient.rng.choice([i for i in scored if answers[i.id] < top])
        answers[item.id] += 1
        left -= 1
    return answers


class Simulation:
    def __init__(self, database: Database, content: Content, options: Options) -> None:
        self.database = database
        self.content = content
        self.options = options
        self.clock = ManualClock(START)
        policy = Policy(mode="open", screening=True, programme="trial" if options.mode == "trial" else "service")
        place = Place(default_timezone="Europe/London", default_country="gb", staff_chat_id=STAFF_CHAT,
                      admin_ids=(GUIDE,), enrolment=policy)  # fmt: skip
        self.services: Services = build(database, content, self.clock, place)
        if self.services.desk is not None:
            self.services.desk.seed_admins(place.admin_ids)
        self.patients = make_patients(options)
        if options.mode == "trial":
            self.seed_allocation(policy)
        self.posts = 0
        self.events = 0

    def seed_allocation(self, policy: Policy) -> None:
        """The trial's allocation seed, made from the simulation's seed (a real trial's is random
        and concealed), so the same seed gives the same arms."""
        ratio, sizes = policy.design.text
        secret = hashlib.sha256(f"paincoach simulation {self.options.seed}".encode()).hexdigest()
        with self.database.transaction() as session:
            if session.get(TrialSeed, TRIAL) is None:
                session.add(TrialSeed(name=TRIAL, seed=secret, ratio=ratio, block_sizes=sizes, created_at=START))

    # -- one patient --------------------------------------------------------------------------

    def state_of(self, patient: Synthetic) -> tuple[PatientState, Patient, list[tuple[str, str]]] | None:
        """The patient's state, their row, and the buttons of their latest prompt (from what the
        coach queued for them), in one read."""
        with self.database.transaction() as session:
            row = session.exec(select(Patient).where(Patient.telegram_user_id == patient.person.user_id)).first()
            if row is None:
                return None
            state, _ = load_state(session, row)
            rows = session.exec(
                select(OutboxMessage).where(OutboxMessage.chat_id == patient.person.chat_id)
                .order_by(col(OutboxMessage.id).desc()).limit(12)
            ).all()  # fmt: skip
        buttons: list[tuple[str, str]] = []
        for message in rows:
            data = message.payload.get("buttons") or []
            buttons = [(str(b[0]), str(b[1])) for b in data if str(b[1]).startswith(f"{state.prompt}:")]
            if buttons:
                break
        return state, row, buttons

    def send(self, patient: Synthetic, event: Event) -> None:
        self.events += 1
        self.services.coach.handle(patient.person, event)

    def choose(
        self, patient: Synthetic, state: PatientState, row: Patient, buttons: list[tuple[str, str]]
    ) -> Event | None:
        """What this patient does next at their current prompt (None: nothing to answer)."""
        if state.awaiting == "text" and state.flow != "menu":
            return Text(patient.rng.choice(CALM_WORDS))
        if state.awaiting != "button" or state.flow == "menu":
            return None
        if not buttons:
            return None
        if state.flow == "questionnaire" and state.survey is not None:
            survey = state.survey
            key = f"{survey.occasion}/{survey.questionnaire}"
            questionnaire = self.content.for_locale(None).questionnaires[survey.questionnaire]
            if key not in patient.answers:
                since = (self.clock.now() - row.consented_at).days if row.consented_at else 0
                patient.answers[key] = item_answers(patient, questionnaire, survey.occasion, since, row.arm,
                                                    self.options.effect)  # fmt: skip
            item = questionnaire.items[survey.index].id
            wanted = f"{state.prompt}:a:{patient.answers[key][item]}"
            return Press(next((data for _, data in buttons if data == wanted), buttons[0][1]))
        choices = {data.partition(":")[2]: data for _, data in buttons}
        if state.step == "plans":
            return Press(choices.get("no", buttons[0][1]))
        for preferred in ("agree", "yes", "gb", "tz-keep", "next", "done", "continue"):
            if preferred in choices:
                return Press(choices[preferred])
        return Press(buttons[0][1])

    def idle(self, patient: Synthetic, state: PatientState, day: int) -> Event | None:
        """On the menu: a questionnaire that is ready, or the lesson that is open (once a day)."""
        open_now = due_occasions(self.content.program, state.consented_at, state.timezone, self.clock.now(),
                                 state.surveys_done)  # fmt: skip
        for open_occasion in open_now:
            key = open_occasion.occasion.key
            if key.startswith("week"):
                if key not in patient.weeklies:
                    patient.weeklies[key] = patient.rng.random() < patient.weekly
                if not patient.weeklies[key]:
                    continue
            return Press(f"checkin:{key}")
        if len(state.lessons_done) >= patient.lessons_wanted:
            return None
        views = lesson_views(self.content, self.content.for_locale(None), state, self.clock.now())
        if any(v.status in (LessonStatus.OPEN, LessonStatus.IN_PROGRESS) for v in views):
            return Command("lesson")
        return None

    def live(self, patient: Synthetic, day: int) -> None:
        """One simulated day of one patient: join on their day, then answer and read until idle."""
        if day < patient.join_day:
            return
        if day == patient.join_day:
            self.send(patient, Start())
        if patient.dropout_day is not None and day >= patient.dropout_day:
            return
        if day > patient.join_day and patient.rng.random() > patient.keen:
            return
        tried: set[tuple[int, str]] = set()
        for _ in range(600):
            found = self.state_of(patient)
            assert found is not None
            state, row, buttons = found
            patient.code = row.code
            if state.status in (Status.DECLINED, Status.STOPPED):
                return
            event = self.choose(patient, state, row, buttons) or self.idle(patient, state, day)
            if event is None:
                return
            mark = (state.prompt, repr(event))
            if mark in tried:
                return  # nothing moved: wait for another day
            tried.add(mark)
            self.send(patient, event)

    # -- the guides -----------------------------------------------------------------------------

    def guide_contacts(self, day: int) -> None:
        """Each week, the guide logs a short contact with every course patient who is taking part."""
        if day % 7 != 6 or self.services.commands is None:
            return
        for patient in self.patients:
            found = self.state_of(patient)
            if found is None:
                continue
            state, row, _ = found
            if row.consented_at is None or row.arm == "waitlist" or state.status is not Status.ACTIVE:
                continue
            if patient.dropout_day is not None and day >= patient.dropout_day:
                continue
            if len(state.lessons_done) >= 5 and day - patient.join_day > 63:
                continue
            self.posts += 1
            post = StaffPost(user_id=GUIDE, first_name="Guide", message_id=self.posts)
            minutes = max(3, round(patient.rng.gauss(8, 3)))
            self.services.commands.command(None, post, "checkin", f"{row.code} message {minutes}")

    # -- the whole run --------------------------------------------------------------------------

    def run(self, progress: Any = None) -> None:
        last = max(p.join_day for p in self.patients) + 84 + 14
        if self.options.days is not None:
            last = min(last, self.options.days)
        for day in range(last + 1):
            self.clock.set(START + timedelta(days=day))
            self.sweep()
            for patient in self.patients:
                self.live(patient, day)
            self.guide_contacts(day)
            if progress is not None and day % 14 == 0:
                progress(day, last)

    def sweep(self) -> None:
        """What the scheduler would do at this moment: plan, then fire everything that is due."""
        coach = self.services.coach
        coach.plan_unplanned()
        for _ in range(50):
            rows = coach.due_now()
            if not rows:
                return
            for row in rows:
                coach.fire_due(row)


def simulate(database: Database, content: Content, options: Options, progress: Any = None) -> Simulation:
    simulation = Simulation(database, content, options)
    simulation.run(progress)
    return simulation
