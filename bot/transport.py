"""What the outbox sender needs from a way of delivering messages, and how deliveries end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivered:
    message_id: int | None = None


@dataclass(frozen=True)
class RetryAfter:
    """Telegram asked us to slow down (429): wait this many seconds before sending again."""

    seconds: float


@dataclass(frozen=True)
class Transient:
    """A 5xx, a timeout or a network failure: try again later."""

    reason: str


@dataclass(frozen=True)
class Blocked:
    """The person blocked the bot or deleted their account."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """Telegram refused the request itself (400): sending it again would not help."""

    reason: str


@dataclass(frozen=True)
class TopicGone:
    """The forum topic the message was for no longer exists (staff deleted it)."""

    reason: str


Delivery = Delivered | RetryAfter | Transient | Blocked | Rejected | TopicGone


class Transport(Protocol):
    async def deliver(self, chat_id: int, kind: str, payload: dict[str, Any]) -> Delivery:
        """Send one outbox message: kind `message` (text, buttons), `edit` (message_id, text),
        `copy` (from_chat_id, message_id), `markup` (message_id, buttons), `topic` (name: create
        a forum topic; delivered with its thread id) or `topic_edit` (thread_id, name)."""
        ...
