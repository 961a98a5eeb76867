"""The labelled corpus (tests/safety_corpus/*.tsv) read with each language's phrase set: every clear
risk caught, every ambiguous sentence asked about, someone else's risk seen for review, and at most
2% of ordinary sentences raising anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from content.risk_language import Finding, reader_of
from content.schema import Content
from tests.conftest import CONTENT_DIR, load_content

CORPUS = Path(__file__).parent / "safety_corpus"
LABELS = ("urgent", "ask", "mention", "none")


@dataclass(frozen=True)
class Sentence:
    language: str
    label: str
    text: str
    line: int


def corpus() -> list[Sentence]:
    sentences = []
    for path in sorted(CORPUS.glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            label, text = line.split("\t", 1)
            assert label in LABELS, f"{path.name}:{number}: unknown label {label!r}"
            sentences.append(Sentence(path.stem, label, text, number))
    return sentences


SENTENCES = corpus()


@pytest.fixture(scope="module")
def every_language() -> Content:
    return load_content(CONTENT_DIR, "en")


def read(content: Content, sentence: Sentence) -> Finding | None:
    return reader_of(content.phrase_sets[sentence.language]).read(sentence.text)


def test_the_corpus_is_large_and_covers_two_languages() -> None:
    assert len(SENTENCES) >= 300
    languages = {s.language for s in SENTENCES}
    assert {"en", "ru"} <= languages
    for language in languages:
        assert {s.label for s in SENTENCES if s.language == language} == set(LABELS), language


def test_every_clear_risk_is_caught(every_language: Content) -> None:
    missed = [
        f"{s.language}:{s.line} {s.text!r} -> {f}"
        for s in SENTENCES
        if s.label == "urgent" and ((f := read(every_language, s)) is None or f.tier != "urgent")
    ]
    assert not missed, "\n".join(missed)


def test_every_ambiguous_sentence_is_asked_about(every_language: Content) -> None:
    wrong = [
        f"{s.language}:{s.line} {s.text!r} -> {f}"
        for s in SENTENCES
        if s.label == "ask" and ((f := read(every_language, s)) is None or f.tier != "ask")
    ]
    assert not wrong, "\n".join(wrong)


def test_someone_elses_risk_is_for_review_not_a_crisis(every_language: Content) -> None:
    wrong = [
        f"{s.language}:{s.line} {s.text!r} -> {f}"
        for s in SENTENCES
        if s.label == "mention" and ((f := read(every_language, s)) is None or f.tier != "mention")
    ]
    assert not wrong, "\n".join(wrong)


def test_at_most_two_percent_of_ordinary_sentences_raise_anything(every_language: Content) -> None:
    benign = [s for s in SENTENCES if s.label == "none"]
    alarms = [f"{s.language}:{s.line} {s.text!r} -> {f}" for s in benign if (f := read(every_language, s)) is not None]
    assert len(alarms) <= 0.02 * len(benign), "\n".join(alarms)
