"""A patient's forum topic in the staff chat: its name is their code and a status mark."""

from __future__ import annotations

WAITING_MARK, ANSWERED_MARK = "🔴", "🟢"


def topic_name(code: str, waiting: bool) -> str:
    """ "P-0042 🔴" while a conversation is open, "P-0042 🟢" once it is answered (or before any)."""
    return f"{code} {WAITING_MARK if waiting else ANSWERED_MARK}"
