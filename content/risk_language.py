"""Reading risk language in what a patient writes, with a locale's phrase set (content/<locale>/safety.yaml).

Pure and quick: it runs on every message. What it understands:

- words, never parts of words: "I want to diet" is not "want to die", "send it all" not "end it all";
- any script: text is folded with Unicode (NFKC, case, accents), and look-alike letters and digits are
  read as the letters they stand for ("dіe" with a Cyrillic і, "k1ll mys3lf", "@" and "$");
- apostrophes or none ("don't", "dont"), split or joined words ("my self", "killmyself");
- inflections, through the language's lemmas (simplemma: "wanted" is "want", "хотела" is "хотеть"),
  or a prefix written with `*`;
- typos, with rapidfuzz's edit distance, but only in words the language does not know ("wnat",
  "sucide"), so a real word is never read as another ("give" is not "live");
- negation ("I don't want to die"), idioms that are not risk ("this pain is killing me"), and the
  third person ("my friend's father killed himself": for the guide to review, not a crisis).

A phrase is a sequence of words; `(a|b c)` is a choice, `[a]` may be left out, `word*` is any word
that begins so, `...` stands for up to four words in between, and `$` for the end of the clause.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import simplemma
from rapidfuzz import process
from rapidfuzz.distance import OSA
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries import DictionaryFactory
from simplemma.strategies.dictionaries.stream_dictionary_factory import StreamDictionaryFactory
from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieDictionaryFactory
from simplemma.utils import normalize_token

if TYPE_CHECKING:
    from content.schema import SafetyPhrases

Tier = Literal["urgent", "ask", "mention"]
TIERS: tuple[Tier, ...] = ("urgent", "ask", "mention")  # in order of weight

_WORD = re.compile(r"[\w@$]+(?:['’`ʼ]+[\w@$]+)*")  # \w is Unicode-aware in `re`
_APOSTROPHES = re.compile(r"['’`ʼ]")
_CLAUSE_END = re.compile(r"[.!?;:\n…]+")
_GAP = 4  # words `...` may stand for

# Letters of other scripts that look like Latin ones, and the other way round.
_TO_LATIN = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ɡ": "g", "ո": "n",
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "χ": "x", "ı": "i",
    }
)  # fmt: skip
_TO_CYRILLIC = str.maketrans(
    {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "o": "о", "p": "р", "t": "т", "x": "х",
     "y": "у", "3": "з", "0": "о", "6": "б", "4": "ч"}
)  # fmt: skip
_DIGITS_AS_LATIN = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)


def _script(char: str) -> str:
    if "a" <= char <= "z":
        return "latin"
    if "\u0400" <= char <= "\u04ff":
        return "cyrillic"
    if "\u0370" <= char <= "\u03ff":
        return "greek"
    return "other"


def _strip_marks(word: str) -> str:
    """Accents off ("suïcide" -> "suicide"), but й stays й; ё is е."""
    out: list[str] = []
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char):
            if char == "\u0306" and out and out[-1] in "иИ":
                out[-1] = "й"
            continue
        out.append(char)
    return "".join(out).replace("ё", "е")


@lru_cache(maxsize=8192)
def fold(word: str) -> tuple[str, ...]:
    """The ways one written word may be read: lower case, no accents or apostrophes, look-alike
    letters and digits in the word's own script. Usually one; "k1ll" -> ("kill", "klll")."""
    word = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", word).casefold())
    word = _strip_marks(word).strip("@$")
    if not word:
        return ()
    scripts = [_script(c) for c in word if c.isalpha()]
    if not scripts:
        return (word,)  # a number
    latin, cyrillic = scripts.count("latin"), scripts.count("cyrillic") + 0
    greek = scripts.count("greek")
    if cyrillic > latin + greek:
        return (word.translate(_TO_CYRILLIC),)
    if latin and (cyrillic or greek or any(c in word for c in "0134578@$")):
        word = word.translate(_TO_LATIN)
        if "1" in word:
            return (word.translate(_DIGITS_AS_LATIN), word.replace("1", "l").translate(_DIGITS_AS_LATIN))
        return (word.translate(_DIGITS_AS_LATIN),)
    return (word,)


def words(text: str) -> list[tuple[str, ...]]:
    """The words of `text`, each as the readings `fold` gives."""
    return [f for w in _WORD.findall(text) if (f := fold(w))]


def clauses(text: str, breaks: frozenset[str]) -> Iterator[list[tuple[str, ...]]]:
    """Sentences and clauses: split at full stops and the like, and at words such as "but"."""
    for sentence in _CLAUSE_END.split(text):
        clause: list[tuple[str, ...]] = []
        for word in words(sentence):
            if word[0] in breaks:
                if clause:
                    yield clause
                clause = []
            else:
                clause.append(word)
        if clause:
            yield clause


# -- phrases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple[Sequence_, ...]


@dataclass(frozen=True)
class Gap:
    pass


@dataclass(frozen=True)
class End:
    """`$`: the clause ends here ("I can't go on." but not "I can't go on holiday")."""


Element = Word | Choice | Gap | End
Sequence_ = tuple[Element, ...]

_PATTERN_TOKEN = re.compile(r"\.\.\.|[()\[\]|]|[^\s()\[\]|]+")


class PhraseError(ValueError):
    pass


def parse(phrase: str) -> Sequence_:
    """A phrase of the content, read into words, choices and gaps."""
    tokens = _PATTERN_TOKEN.findall(phrase)
    position = 0

    def sequence(closing: str | None) -> list[Sequence_]:
        nonlocal position
        options: list[Sequence_] = []
        current: list[Element] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token in "([":
                inner = sequence(")" if token == "(" else "]")
                if token == "[":
                    inner.append(())
                current.append(Choice(tuple(inner)))
            elif token in ")]":
                if token != closing:
                    raise PhraseError(f"unexpected {token!r}")
                options.append(tuple(current))
                return options
            elif token == "|":
                if closing is None:
                    raise PhraseError("`|` outside brackets")
                options.append(tuple(current))
                current = []
            elif token == "...":
                current.append(Gap())
            elif token == "$":
                current.append(End())
            else:
                prefix = token.endswith("*")
                folded = fold(token.rstrip("*"))
                if not folded:
                    raise PhraseError(f"{token!r} is not a word")
                if len(folded[0].split()) != 1 or not _WORD.fullmatch(folded[0]):
                    raise PhraseError(f"{token!r} is not one word")
                current.append(Word(folded[0], prefix))
        if closing is not None:
            raise PhraseError(f"a bracket is not closed: {closing!r} missing")
        options.append(tuple(current))
        return options

    parsed = sequence(None)[0]
    if not any(isinstance(e, Word | Choice) for e in parsed):
        raise PhraseError("a phrase needs at least one word")
    return parsed


def examples(phrase: Sequence_, limit: int = 64) -> list[list[str]]:
    """Plain word sequences the phrase stands for (gaps left empty, prefixes as written)."""
    results: list[list[str]] = [[]]
    for element in phrase:
        if isinstance(element, Word):
            results = [[*r, element.text] for r in results]
        elif isinstance(element, Choice):
            results = [r + e for r in results for option in element.options for e in examples(option, limit)][:limit]
    return results


# -- matching ------------------------------------------------------------------------------


def _dictionaries() -> DictionaryFactory:
    """simplemma's dictionaries as MARISA tries, built once from its data and kept in the user's
    cache folder (`XDG_CACHE_HOME`, ~10 MB for English and Russian), then mapped from disk: start-up
    reads them in about 10 ms and they take a few MB, where unpacking them into dicts takes a second
    of CPU and 160 MB. Without marisa-trie, the packed streams read on demand (a second of CPU at
    start-up, 25 MB). The lemmas are the same either way (tests/test_safety_corpus.py)."""
    try:
        return TrieDictionaryFactory()
    except ImportError:
        return StreamDictionaryFactory()


_DICTIONARIES = _dictionaries()
_LEMMATIZER = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=_DICTIONARIES))
_LOOKUP = DictionaryLookupStrategy(_DICTIONARIES)


def language_known(language: str) -> bool:
    """Whether simplemma has lemmas for `language` (an ISO 639-1 code such as en, ru)."""
    try:
        _LEMMATIZER.lemmatize("a", lang=language)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def _lemma(word: str, language: str) -> str:
    try:
        return str(_LEMMATIZER.lemmatize(word, lang=language))
    except ValueError:
        return word


@lru_cache(maxsize=65536)
def _known(word: str, language: str) -> bool:
    """Whether the word is in the language's dictionary, as written (simplemma.is_known)."""
    try:
        return _LOOKUP.get_lemma(normalize_token(word), language) is not None
    except ValueError:
        return False


def _typo_of(written: str, meant: str) -> bool:
    """One slip (two in long words): a letter added, dropped, changed, or two swapped. Words of
    three letters: only a swap ("dei")."""
    size = len(meant)
    if size < 3 or abs(len(written) - size) > 2:
        return False
    if size == 3:
        return sorted(written) == sorted(meant) and OSA.distance(written, meant) == 1
    return OSA.distance(written, meant, score_cutoff=2 if size >= 8 else 1) <= (2 if size >= 8 else 1)


@dataclass(frozen=True)
class Clause:
    """The words of a clause, each with the phrase words it can stand for."""

    keys: tuple[frozenset[str], ...]  # per word: the phrase words (`die`, `suicid*`) it matches
    pairs: tuple[frozenset[str], ...]  # per word: it and the next written as one ("my self")

    def __len__(self) -> int:
        return len(self.keys)


def _key(word: Word) -> str:
    return word.text + "*" if word.prefix else word.text


class Matcher:
    """Which phrase words a written word can stand for: itself, its lemma, a prefix, or a typo."""

    def __init__(self, language: str, vocabulary: frozenset[str], prefixes: frozenset[str]) -> None:
        self.language = language
        self.vocabulary = vocabulary
        self.words = sorted(vocabulary)
        self.prefixes = sorted(prefixes)
        self.by_lemma: dict[str, set[str]] = {}
        for word in vocabulary:
            if len(word) >= 3:
                self.by_lemma.setdefault(_lemma(word, language), set()).add(word)
        self._cache: dict[str, frozenset[str]] = {}

    def keys(self, written: str) -> frozenset[str]:
        known = self._cache.get(written)
        if known is not None:
            return known
        keys: set[str] = set()
        if written in self.vocabulary:
            keys.add(written)
        if len(written) >= 4 and not written.isdigit():  # not "is" for "being": short words are function words
            keys.update(self.by_lemma.get(_lemma(written, self.language), ()))
        unknown = written not in self.vocabulary and not _known(written, self.language) and not written.isdigit()
        for prefix in self.prefixes:
            if written.startswith(prefix) or (
                unknown
                and len(prefix) >= 5
                and any(_typo_of(written[:n], prefix) for n in (len(prefix) - 1, len(prefix), len(prefix) + 1))
            ):
                keys.add(prefix + "*")
        if unknown:
            for word, _, _ in process.extract(written, self.words, scorer=OSA.distance, score_cutoff=2, limit=None):
                if _typo_of(written, word):
                    keys.add(word)
        result = frozenset(keys)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[written] = result
        return result

    def clause(self, words: list[tuple[str, ...]]) -> Clause:
        keys = tuple(frozenset().union(*(self.keys(r) for r in word)) for word in words)
        pairs = tuple(
            frozenset(a + b for a in words[i] for b in words[i + 1]) & self.vocabulary
            if i + 1 < len(words)
            else frozenset()
            for i in range(len(words))
        )
        return Clause(keys, pairs)

    def ends(self, phrase: Sequence_, text: Clause, start: int) -> Iterator[int]:
        """Where `phrase` can end if it begins at `start`."""
        if not phrase:
            yield start
            return
        first, rest = phrase[0], phrase[1:]
        if isinstance(first, Word):
            key = _key(first)
            if start < len(text) and key in text.keys[start]:
                yield from self.ends(rest, text, start + 1)
            elif start < len(text) and not first.prefix and first.text in text.pairs[start]:
                yield from self.ends(rest, text, start + 2)  # "my self"
        elif isinstance(first, Choice):
            for option in first.options:
                for end in self.ends(option, text, start):
                    yield from self.ends(rest, text, end)
        elif isinstance(first, End):
            if start == len(text):
                yield start
        else:
            for skip in range(_GAP + 1):
                if start + skip <= len(text):
                    yield from self.ends(rest, text, start + skip)


def firsts(phrase: Sequence_) -> tuple[frozenset[str], bool]:
    """The phrase words a phrase can begin with, and whether it can begin anywhere (all optional)."""
    found: set[str] = set()
    for element in phrase:
        if isinstance(element, Word):
            found.add(_key(element))
            return frozenset(found), False
        if isinstance(element, Choice):
            anywhere = False
            for option in element.options:
                keys, empty = firsts(option)
                found |= keys
                anywhere = anywhere or empty
            if not anywhere:
                return frozenset(found), False
        else:
            return frozenset(found), True  # a gap or an end first: anywhere
    return frozenset(found), True


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Finding:
    """What one message says, at worst: its tier, the family and the phrase that said it."""

    tier: Tier
    family: str
    phrase: str


@dataclass(frozen=True)
class Family:
    name: str
    tier: Tier
    phrases: tuple[tuple[str, Sequence_], ...]


class Reader:
    """One locale's phrase set, compiled."""

    def __init__(
        self,
        language: str,
        families: Sequence[Family],
        *,
        not_risk: Sequence[str] = (),
        negations: Sequence[str] = (),
        fillers: Sequence[str] = (),
        first_person: Sequence[str] = (),
        third_person: Sequence[str] = (),
        clause_breaks: Sequence[str] = (),
    ) -> None:
        self.language = language
        self.families = tuple(families)
        self.not_risk = tuple(parse(p) for p in not_risk)
        self.negations = tuple(parse(p) for p in negations)
        self.fillers = frozenset(fold(w)[0] for w in fillers if fold(w))
        self.first_person = frozenset(fold(w)[0] for w in first_person if fold(w))
        self.third_person = frozenset(fold(w)[0] for w in third_person if fold(w))
        self.breaks = frozenset(fold(w)[0] for w in clause_breaks if fold(w))
        vocabulary: set[str] = set()
        prefixes: set[str] = set()
        every = [phrase for family in self.families for _, phrase in family.phrases]
        for phrase in (*every, *self.not_risk, *self.negations):
            for word in _words_of(phrase):
                (prefixes if word.prefix else vocabulary).add(word.text)
        self.matcher = Matcher(language, frozenset(vocabulary), frozenset(prefixes))
        self.families_by_name = {family.name: family for family in self.families}
        # phrases by the words they can begin with, so a clause tries only those that can start
        self._starting: dict[str, list[tuple[Family, str, Sequence_]]] = {}
        self._anywhere: list[tuple[Family, str, Sequence_]] = []
        for family in self.families:
            for text, phrase in family.phrases:
                keys, anywhere = firsts(phrase)
                if anywhere:
                    self._anywhere.append((family, text, phrase))
                for key in keys:
                    self._starting.setdefault(key, []).append((family, text, phrase))
        self._idioms_starting: dict[str, list[Sequence_]] = {}
        self._idioms_anywhere: list[Sequence_] = []
        for phrase in self.not_risk:
            keys, anywhere = firsts(phrase)
            if anywhere:
                self._idioms_anywhere.append(phrase)
            for key in keys:
                self._idioms_starting.setdefault(key, []).append(phrase)
        # a phrase written as one word: "killmyself", "endmylife"
        self.joined: dict[str, tuple[Family, str]] = {}
        for family in self.families:
            for text, phrase in family.phrases:
                for example in examples(phrase):
                    if len(example) > 1 and len(joined := "".join(example)) >= 8:
                        self.joined.setdefault(joined, (family, text))

    def _spans_at(self, phrase: Sequence_, clause: Clause, start: int) -> Span | None:
        ends = [e for e in self.matcher.ends(phrase, clause, start) if e > start]
        return Span(start, max(ends)) if ends else None

    def _spans(self, phrase: Sequence_, clause: Clause) -> Iterator[Span]:
        for start in range(len(clause)):
            if (span := self._spans_at(phrase, clause, start)) is not None:
                yield span

    def _negated(self, words: list[tuple[str, ...]], clause: Clause, start: int) -> bool:
        end = start
        while end > 0 and words[end - 1][0] in self.fillers and start - end < 3:
            end -= 1
        for stop in {start, end}:
            for negation in self.negations:
                for begin in range(max(0, stop - 4), stop):
                    if stop in self.matcher.ends(negation, clause, begin):
                        return True
        return False

    def _person(self, word: tuple[str, ...]) -> str | None:
        for reading in word:
            lemma = _lemma(reading, self.language)
            if reading in self.first_person or lemma in self.first_person:
                return "first"
            if reading in self.third_person or lemma in self.third_person:
                return "third"
        return None

    def _third_person(self, words: list[tuple[str, ...]], span: Span) -> bool:
        """Whether the nearest person named before the phrase (or in it) is someone else."""
        inside = [self._person(words[i]) for i in range(span.start, span.end)]
        if "first" in inside:
            return False
        for index in range(span.start - 1, -1, -1):
            if (who := self._person(words[index])) is not None:
                return who == "third"
        return "third" in inside

    def read(self, text: str) -> Finding | None:
        """The weightiest thing `text` says, or None."""
        best: Finding | None = None
        for words in clauses(text, self.breaks):
            clause = self.matcher.clause(words)
            found: list[tuple[Family, str, Span]] = []
            for start in range(len(clause)):
                candidates = {
                    id(c): c for key in clause.keys[start] | clause.pairs[start] for c in self._starting.get(key, ())
                }
                for family, phrase_text, phrase in (*candidates.values(), *self._anywhere):
                    if (span := self._spans_at(phrase, clause, start)) is not None:
                        found.append((family, phrase_text, span))
                for reading in words[start]:
                    if reading in self.joined:
                        family, phrase_text = self.joined[reading]
                        found.append((family, phrase_text, Span(start, start + 1)))
            if not found:
                continue
            idioms = [
                span
                for start in range(len(clause))
                for phrase in [
                    *{
                        id(p): p
                        for key in clause.keys[start] | clause.pairs[start]
                        for p in self._idioms_starting.get(key, ())
                    }.values(),
                    *self._idioms_anywhere,
                ]
                if (span := self._spans_at(phrase, clause, start)) is not None
            ]
            for family, phrase_text, span in found:
                if any(i.start < span.end and span.start < i.end for i in idioms):
                    continue
                if self._negated(words, clause, span.start):
                    continue
                tier: Tier | None = family.tier
                if tier != "mention" and self._third_person(words, span):
                    tier = "mention" if tier == "urgent" else None
                if tier is None:
                    continue
                finding = Finding(tier, family.name, phrase_text)
                if best is None or TIERS.index(finding.tier) < TIERS.index(best.tier):
                    best = finding
        return best


def _words_of(phrase: Sequence_) -> Iterator[Word]:
    for element in phrase:
        if isinstance(element, Word):
            yield element
        elif isinstance(element, Choice):
            for option in element.options:
                yield from _words_of(option)


def weightier(a: Finding | None, b: Finding | None) -> Finding | None:
    if a is None or b is None:
        return a or b
    return a if TIERS.index(a.tier) <= TIERS.index(b.tier) else b


_READERS: dict[int, tuple[object, Reader]] = {}


def reader_of(phrases: SafetyPhrases) -> Reader:
    """The compiled reader of a phrase set (compiled once per loaded set)."""
    known = _READERS.get(id(phrases))
    if known is not None and known[0] is phrases:
        return known[1]
    compiled = Reader(
        phrases.language,
        [
            Family(name, family.tier, tuple((p, parse(p)) for p in family.phrases))
            for name, family in phrases.families.items()
        ],
        not_risk=phrases.not_risk,
        negations=phrases.negations,
        fillers=phrases.fillers,
        first_person=phrases.first_person,
        third_person=phrases.third_person,
        clause_breaks=phrases.clause_breaks,
    )
    if len(_READERS) > 32:
        _READERS.clear()
    _READERS[id(phrases)] = (phrases, compiled)
    return compiled


def warm(languages: Sequence[str] = ("en", "ru")) -> None:
    """Build the languages' dictionaries now (the tries, into the cache folder, the first time)."""
    for language in languages:
        language_known(language)
