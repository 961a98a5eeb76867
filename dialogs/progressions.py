"""How the skills tools move on (pure): the graded activity ladder climbs a rung after repeated
tries with falling fear, and a pacing plan starts at about 80% of a baseline and steps up on a
schedule, not "when it feels easy".

Entries are the flat text mappings the engine keeps (dialogs/state.py); what this module adds to
one lives under the keys below, so a template can quote it (`answers.ladder_rung`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

# -- the graded activity ladder -------------------------------------------------------------

LADDER_RUNGS = (("fear_a", "rung_a"), ("fear_b", "rung_b"), ("fear_c", "rung_c"))  # the flow's answers
STEP, RUNG, TRIES, CLIMBED = "ladder_step", "ladder_rung", "ladder_tries", "ladder_climbed"
TRIES_TO_CLIMB = 2  # a rung is done after at least this many tries ...
LOW_FEAR = 2  # ... each with fear falling (or low, at most this), and fear at the start lower than at first


@dataclass(frozen=True)
class Try:
    step: int  # the rung tried: 1 the least feared
    before: int  # fear 0-10 just before
    after: int  # and at the end

    @property
    def fell(self) -> bool:
        return self.after < self.before or self.after <= LOW_FEAR


def rungs(entry: Mapping[str, str]) -> list[tuple[int, str]]:
    """The ladder's rungs, least feared first: (fear, what), as the patient rated them."""
    found = []
    for fear, rung in LADDER_RUNGS:
        if rung in entry:
            value = entry.get(fear, "")
            found.append((int(value) if value.lstrip("-").isdigit() else 10, entry[rung]))
    return sorted(found, key=lambda pair: pair[0])


def tries(entry: Mapping[str, str]) -> list[Try]:
    """The tries logged on a ladder, oldest first (stored as "step:before:after;...")."""
    logged = []
    for part in entry.get(TRIES, "").split(";"):
        fields = part.split(":")
        if len(fields) == 3 and all(f.isdigit() for f in fields):
            logged.append(Try(int(fields[0]), int(fields[1]), int(fields[2])))
    return logged


def current_step(entry: Mapping[str, str]) -> int:
    value = entry.get(STEP, "1")
    return int(value) if value.isdigit() else 1


def rung_done(on_rung: Sequence[Try]) -> bool:
    """Repeated tries with falling fear: at least TRIES_TO_CLIMB tries, the latest ones each ending
    lower than they began (or low), and the fear at the start now below the fear at the first try."""
    if len(on_rung) < TRIES_TO_CLIMB:
        return False
    latest = on_rung[-TRIES_TO_CLIMB:]
    coming_down = on_rung[-1].before < on_rung[0].before or on_rung[-1].before <= LOW_FEAR
    return all(t.fell for t in latest) and coming_down


def start_ladder(entry: Mapping[str, str]) -> dict[str, str]:
    """A new ladder: on its first rung, no tries yet."""
    ladder = rungs(entry)
    return {**entry, STEP: "1", RUNG: ladder[0][1] if ladder else "", TRIES: "", CLIMBED: "no"}


@dataclass(frozen=True)
class Progress:
    entry: dict[str, str]  # the ladder with the try recorded
    climbed: bool  # this try finished its rung
    finished: bool  # ... and it was the top rung
    advice: str  # what to say next: ladder_climbed, ladder_top, ladder_again_falling, ladder_again_not_falling


def record_try(entry: Mapping[str, str], before: int, after: int) -> Progress:
    """Log a try on the current rung; climb a rung when this one is done. The next try is planned
    from this one: the next rung after a climb, otherwise the same rung again."""
    ladder = rungs(entry)
    step = min(current_step(entry), max(1, len(ladder)))
    done_before = entry.get(CLIMBED) == "top"
    this = Try(step, min(max(before, 0), 10), min(max(after, 0), 10))
    logged = [*tries(entry), this]
    updated = {**entry, TRIES: ";".join(f"{t.step}:{t.before}:{t.after}" for t in logged)}
    on_rung = [t for t in logged if t.step == step]
    if done_before or not rung_done(on_rung):
        updated[CLIMBED] = entry.get(CLIMBED, "no") if done_before else "no"
        advice = "ladder_again_falling" if this.fell else "ladder_again_not_falling"
        return Progress(updated, False, done_before, advice)
    if step >= len(ladder):
        updated[CLIMBED] = "top"
        return Progress(updated, True, True, "ladder_top")
    updated[STEP] = str(step + 1)
    updated[RUNG] = ladder[step][1]
    updated[CLIMBED] = "yes"
    return Progress(updated, True, False, "ladder_climbed")


# -- the pacing plan ------------------------------------------------------------------------

QUOTA_SHARE = 0.8  # start at about 80% of the baseline
STEP_UP_SHARE = 0.1  # each planned increase adds about 10% of the quota ...
STEP_UPS = 4  # ... and this many are planned ahead
QUOTA, STEP_UP, STEP_UP_EVERY, SCHEDULE = "pacing_quota", "pacing_step_up", "pacing_every", "pacing_schedule"


def quota(baseline: Sequence[float], in_minutes: bool) -> int:
    """About 80% of the average of the baseline days, rounded down (to 5 minutes for a time of 10
    minutes or more), never below 1: a little less than an average day, so it can be done on a bad one."""
    if not baseline:
        return 1
    target = QUOTA_SHARE * sum(baseline) / len(baseline)
    if in_minutes and target >= 10:
        return max(5, int(target // 5 * 5))
    return max(1, math.floor(target))


def step_up(start: int, in_minutes: bool) -> int:
    """How much each planned increase adds: about 10% of the starting quota, at least one unit
    (or 5 minutes for a time of 10 minutes or more)."""
    if in_minutes and start >= 10:
        return max(5, int(start * STEP_UP_SHARE // 5 * 5))
    return max(1, round(start * STEP_UP_SHARE))


def schedule(start: int, first_day: date, every_days: int, in_minutes: bool) -> list[tuple[date, int]]:
    """The planned increases: (from this day, the quota), one every `every_days` days."""
    increase = step_up(start, in_minutes)
    return [(first_day + timedelta(days=every_days * n), start + increase * n) for n in range(1, STEP_UPS + 1)]


def baseline_of(entry: Mapping[str, str], keys: Sequence[str]) -> list[float]:
    """The baseline days the patient gave (typed or tapped numbers), ignoring any left out."""
    return [value for key in keys if (value := number_of(entry.get(key, ""))) is not None]


def number_of(text: str) -> float | None:
    """A typed amount ("20", "2,5", "about 20 min"): its first number; None if it has none."""
    match = re.search(r"\d+(?:[.,]\d+)?", text)
    return float(match.group(0).replace(",", ".")) if match else None
