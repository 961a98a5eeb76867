"""Spotting crisis language in what a patient writes: tolerant of case, accents, punctuation,
split words and one slip of the finger; and the watch the router keeps on every event before any
stage sees it. Pure functions; the phrase lists are content."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from content.render import shortened
from dialogs.actions import RaiseAlert, Send
from dialogs.events import Command, Edited, Event, NotText, Start, Text
from dialogs.turn import Turn

_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> list[str]:
    """Lower-case words without accents or punctuation ("Can't" -> "cant")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("'", "").replace("’", "")
    return [word for word in _NOT_LETTERS.split(ascii_only) if word]


def _close(word: str, target: str) -> bool:
    """Equal, or one letter added, dropped, changed or two swapped, in words of five letters or more."""
    if word == target:
        return True
    if len(target) < 5 or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        differences = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(differences) == 1:
            return True
        if len(differences) != 2:
            return False
        first, second = differences
        return second == first + 1 and word[first] == target[second] and word[second] == target[first]
    shorter, longer = (word, target) if len(word) < len(target) else (target, word)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


@lru_cache(maxsize=64)
def _compiled(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(normalise(p)) for p in phrases if normalise(p))


def crisis_phrase(text: str, phrases: Sequence[str]) -> str | None:
    """The first crisis phrase found in `text`, or None."""
    words = normalise(text)
    if not words:
        return None
    joined = "".join(words)
    for phrase in _compiled(tuple(phrases)):
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if all(_close(words[start + i], phrase[i]) for i in range(size)):
                return " ".join(phrase)
        if size > 1 and "".join(phrase) in joined:  # "kill my self", "endmylife"
            return " ".join(phrase)
    return None


def written(event: Event) -> str:
    """What the patient wrote in an event: a message, a caption, an edit, command arguments, a
    deep-link payload."""
    if isinstance(event, Text | Edited):
        return event.text
    if isinstance(event, NotText):
        return event.caption
    if isinstance(event, Command):
        return event.args
    if isinstance(event, Start):
        return event.payload
    return ""


def watch_for_crisis(turn: Turn, event: Event) -> None:
    """Crisis language anywhere: the safety message first, an urgent alert to the guides, and
    then the patient's message is handled as usual, so their flow is not broken."""
    text = written(event)
    phrase = crisis_phrase(text, turn.content.safety.phrases) if text else None
    if phrase is None:
        return
    place = f"{turn.state.flow or 'start'}/{turn.state.step or '-'}"
    turn.actions.append(Send(turn.ui("safety_message", **turn.crisis_context()), urgent=True))
    turn.actions.append(RaiseAlert("urgent", f"crisis language ({phrase!r}) at {place}", shortened(text, 1000)))
