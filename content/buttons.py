"""Button data: which prompt a button belongs to and which choice it is, in at most 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
# The prompt counter grows by one per prompt; ten digits outlast any patient.
WIDEST_PROMPT = 9_999_999_999


@dataclass(frozen=True)
class ButtonPress:
    prompt: int
    choice: str


def encode(prompt: int, choice: str) -> str:
    return f"{prompt}:{choice}"


def decode(data: str) -> ButtonPress | None:
    """Read button data; None for data this coach never made."""
    prompt, sep, choice = data.partition(":")
    if not sep or not prompt.isdigit() or not choice:
        return None
    return ButtonPress(int(prompt), choice)


def fits(choice: str) -> bool:
    return len(encode(WIDEST_PROMPT, choice).encode()) <= MAX_CALLBACK_BYTES
