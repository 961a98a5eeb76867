"""A small trial, as plain data, whose figures are worked out by hand in the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from research.dataset import Dataset, Participant, Result

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def phq9(total: int) -> dict[str, int]:
    """Nine item answers (0-3) that add up to `total`, item 9 always 0."""
    answers, left = {}, total
    for number in range(1, 10):
        value = 0 if number == 9 else min(3, left)
        answers[f"phq9_{number}"] = value
        left -= value
    assert left == 0
    return answers


def result(questionnaire: str, occasion: str, total: int, day: int, answers: dict[str, int] | None = None) -> Result:
    return Result(
        questionnaire,
        occasion,
        answers if answers is not None else phq9(total),
        float(total),
        START + timedelta(days=day),
    )


def person(
    number: int, arm: str, baseline: int, post: int | None, lessons: int, minutes: int, satisfaction: int | None = None
) -> Participant:
    results = [result("phq9", "baseline", baseline, 0)]
    done = ["baseline"]
    if post is not None:
        results.append(result("phq9", "post", post, 56))
    if satisfaction is not None:
        answers = {"satisfaction_overall": satisfaction, "satisfaction_recommend": 4, "satisfaction_worth": 4}
        results.append(Result("satisfaction", "post", answers, (satisfaction + 8) / 3, START + timedelta(days=56)))
    return Participant(
        code=f"P-{number:04d}",
        status="active",
        joined_at=START,
        consented_at=START,
        arm=arm,
        site="north",
        programme="trial",
        eligibility="eligible",
        consent_version="consent-v2",
        content_version="sha256:0123456789abcdef",
        lessons_done=tuple(range(1, lessons + 1)),
        started=lessons > 0,
        occasions_done=tuple(done),
        results=tuple(results),
        clinician_minutes=minutes,
    )


def small_trial() -> Dataset:
    return Dataset(
        (
            person(1, "course", 10, 6, 5, 60, satisfaction=5),
            person(2, "course", 12, 8, 5, 80, satisfaction=4),
            person(3, "course", 14, 10, 3, 100, satisfaction=2),
            person(4, "waitlist", 11, 10, 0, 0),
            person(5, "waitlist", 13, 12, 0, 0),
            person(6, "waitlist", 15, 17, 0, 0),
        )
    )
