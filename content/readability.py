"""How easy a text is to read: its Flesch-Kincaid grade, with syllables counted by pyphen's
hyphenation dictionaries (bundled with it: nothing is downloaded).

    grade = 0.39 * words per sentence + 11.8 * syllables per word - 15.59

Words and sentences are counted as textstat 0.7 counted them (this module replaced it: that
release needs `pkg_resources`, which setuptools no longer ships, and later ones download data at
run time): punctuation dropped ("don't" is one word), and a "sentence" of two words or fewer (a
heading, "Go on") not counted as one.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import pyphen

_PUNCTUATION = re.compile(r"[^\w\s]")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*", re.UNICODE)


@lru_cache(maxsize=8)
def _dictionary(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=language)


def words(text: str) -> list[str]:
    return _PUNCTUATION.sub("", text).split()


def syllables(text: str, language: str = "en_US") -> int:
    dictionary = _dictionary(language)
    return sum(len(dictionary.positions(word)) + 1 for word in words(text.lower()))


def sentences(text: str) -> int:
    found = _SENTENCE.findall(text)
    return max(1, len(found) - sum(1 for sentence in found if len(words(sentence)) <= 2))


def grade(text: str, language: str = "en_US") -> float:
    """The Flesch-Kincaid grade level of `text` (US school grade), to one decimal."""
    count = len(words(text))
    if count == 0:
        return 0.0
    per_sentence = _tenths(count / sentences(text))
    per_word = _tenths(syllables(text, language) / count)
    return _tenths(0.39 * per_sentence + 11.8 * per_word - 15.59)


def _tenths(number: float) -> float:
    """Rounded to one decimal, halves away from zero (as readability tables are)."""
    return math.floor(number * 10 + math.copysign(0.5, number)) / 10
