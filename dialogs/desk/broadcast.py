"""Reading /broadcast as a coordinator writes it in the staff chat (pure):

    /broadcast lesson:2 at 2026-03-02 09:00 quiet
    Hello {{ code }}, ...

The first line names the audience and options, the message follows on the lines below."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_AT = re.compile(r"\bat\s+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class BroadcastRequest:
    """/broadcast, read: audience, time (UTC), whether to wait for quiet hours, and the message."""

    audience: str
    send_at: datetime | None
    quiet_hours: bool
    text: str


def parse_request(message_text: str) -> BroadcastRequest | None:
    """`/broadcast <audience> [at YYYY-MM-DD HH:MM] [quiet]` and the message on the next lines."""
    head, _, body = message_text.partition("\n")
    words = head.split(maxsplit=1)
    options = words[1] if len(words) > 1 else ""
    send_at = None
    found = _AT.search(options)
    if found:
        try:
            send_at = datetime.fromisoformat(f"{found.group(1)} {found.group(2).zfill(5)}").replace(tzinfo=UTC)
        except ValueError:
            return None
        options = options[: found.start()] + options[found.end() :]
    parts = options.split()
    quiet = "quiet" in (p.lower() for p in parts)
    rest = [p for p in parts if p.lower() != "quiet"]
    if len(rest) != 1 or not body.strip():
        return None
    return BroadcastRequest(rest[0], send_at, quiet, body.strip())
