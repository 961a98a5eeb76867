"""The CONSORT-style flow: which stages each participant reached (pure). The same stages are
what an erased patient leaves behind as anonymous counts (research/erasure.py), so the flow stays
whole after an erasure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from content.schema import Program
from research.dataset import Dataset, Participant
from research.statistics import SATISFACTION_ITEM, satisfied

POST, FOLLOW_UP, BASELINE = "post", "follow-up", "baseline"
COURSE, WAITLIST, SERVICE = "course", "waitlist", "all"
# Stages counted once for everyone, then stages counted per arm, in the order of the flow.
OVERALL = ("joined", "screened", "eligible", "consented")
SCREENED = frozenset({"eligible", "not_eligible", "referred"})


def arm_of(participant: Participant) -> str:
    return participant.arm or SERVICE


def per_arm_stages(program: Program) -> list[str]:
    lessons = [f"lesson_{r.lesson}" for r in program.lessons]
    return ["allocated", "started", *lessons, "completed", "post_done", "follow_up_done", "withdrawn"]


def stages(participant: Participant, program: Program) -> list[str]:
    """The stages one participant reached: `joined`, `consented` ... and `<stage>:<arm>`."""
    reached = ["joined"]
    if participant.eligibility in SCREENED:
        reached.append("screened")
    if participant.eligibility == "eligible":
        reached.append("eligible")
    if participant.consented_at is None:
        return reached
    reached.append("consented")
    arm = arm_of(participant)
    if participant.arm is None and participant.programme == "trial":
        return reached  # consented, not yet allocated
    per_arm = ["allocated"]
    if participant.started:
        per_arm.append("started")
    per_arm += [f"lesson_{n}" for n in participant.lessons_done]
    if all(r.lesson in participant.lessons_done for r in program.lessons):
        per_arm.append("completed")
    if POST in participant.occasions_done:
        per_arm.append("post_done")
    if FOLLOW_UP in participant.occasions_done:
        per_arm.append("follow_up_done")
    if participant.withdrawn:
        per_arm.append("withdrawn")
    satisfaction = participant.result("satisfaction", POST)
    if satisfaction is not None and SATISFACTION_ITEM in satisfaction.answers:
        per_arm.append("satisfaction_answered")
        if satisfied(satisfaction.answers[SATISFACTION_ITEM]):
            per_arm.append("satisfied")
    return reached + [f"{stage}:{arm}" for stage in per_arm]


def counts(dataset: Dataset, program: Program) -> Counter[str]:
    """How many reached each stage: everyone still here, and the anonymous counts of the erased."""
    total: Counter[str] = Counter()
    for participant in dataset.participants:
        total.update(stages(participant, program))
    total.update({k: v for k, v in dataset.tallies.items() if not k.startswith("minutes")})
    return total


def arms(dataset: Dataset) -> list[str]:
    found = {arm_of(p) for p in dataset.participants if p.consented_at is not None}
    found |= {k.partition(":")[2] for k in dataset.tallies if k.startswith("allocated:")}
    order = {COURSE: 0, WAITLIST: 1}
    return sorted(found, key=lambda a: (order.get(a, 2), a))


def flow(dataset: Dataset, program: Program) -> dict[str, object]:
    """`consort` in report.json: the overall counts, then each per-arm stage as {arm: n}."""
    total = counts(dataset, program)
    found: dict[str, object] = {stage: total[stage] for stage in OVERALL}
    for stage in per_arm_stages(program):
        found[stage] = {arm: total[f"{stage}:{arm}"] for arm in arms(dataset)}
    return found


def erased_stages(participants: Iterable[Participant], program: Program) -> Counter[str]:
    total: Counter[str] = Counter()
    for participant in participants:
        total.update(stages(participant, program))
        total[f"minutes:{arm_of(participant)}"] += participant.clinician_minutes
        total[f"minutes_patients:{arm_of(participant)}"] += 1 if participant.consented_at else 0
    return total
