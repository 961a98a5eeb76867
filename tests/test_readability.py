"""The Flesch-Kincaid grade (content/readability.py), as textstat 0.7 computed it before it was
replaced: the same figures on the same sentences, and on every shipped lesson."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content import readability


@pytest.mark.parametrize(
    ("text", "grade"),
    [  # what textstat 0.7.4 answered for each
        ("The cat sat on the mat.", -1.5),
        ("Pacing means working to a plan, not to pain. Stop before the flare comes, and rest on purpose.", 2.1),
        ("Go on", -3.1),
        ("Fibromyalgia affects concentration, memory and sleep; understanding the nervous system helps.", 14.7),
        ("I don't know. It's fine!", -1.9),
        ("", 0.0),
    ],
)
def test_grades_of_known_sentences(text: str, grade: float) -> None:
    assert readability.grade(text) == grade


def test_counting() -> None:
    assert readability.words("Don't stop, it's a well-known trick!") == [
        "Dont",
        "stop",
        "its",
        "a",
        "wellknown",
        "trick",
    ]
    assert readability.sentences("Lesson 2. Pacing is a skill. It takes practice!") == 2, "a heading is no sentence"
    assert readability.syllables("pacing helps") == 3


@given(st.text(max_size=300))
def test_any_text_has_a_grade(text: str) -> None:
    assert isinstance(readability.grade(text), float)
