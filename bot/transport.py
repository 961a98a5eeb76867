"""What the coach needs from a Telegram framework, and how a delivery ends. The adapters under
bot/ (bot/aiogram/, bot/ptb/) implement `TelegramApi`; nothing else in the coach imports a framework."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storage.payloads import Payload


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

# What Telegram answers when a message is sent to (or a topic edited in) a deleted forum topic.
TOPIC_GONE = ("message thread not found", "TOPIC_ID_INVALID", "TOPIC_DELETED")


class Unavailable(Exception):
    """Telegram could not be reached, or answered with a server error or a timeout."""


class Transport(Protocol):
    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        """Send one outbox message (storage/payloads.py) and say how it ended; never raises for
        what Telegram answers."""
        ...


@dataclass(frozen=True)
class MenuCommand:
    command: str  # without the slash
    description: str


class TelegramApi(Transport, Protocol):
    """Everything the coach asks of Telegram, whichever framework makes the calls."""

    async def get_me(self) -> str:
        """The bot's username."""
        ...

    async def is_forum(self, chat_id: int) -> bool:
        """Whether a group has topics; raises Unavailable (or another error) when it cannot be read."""
        ...

    async def set_commands(
        self, commands: Sequence[MenuCommand], *, chat_id: int | None = None, language: str | None = None
    ) -> None:
        """The command menu: of one chat, or (chat_id None) of every private chat, in a language."""
        ...

    async def answer_callback(self, query_id: str, text: str | None = None) -> None:
        """Answer a button tap (stop its spinner, with a short notice); failures are logged, not raised."""
        ...

    async def get_updates(self, offset: int | None, poll_seconds: int, allowed: Sequence[str]) -> list[dict[str, Any]]:
        """Long polling, as the Bot API's JSON: no update is parsed here. Raises Unavailable."""
        ...

    async def set_webhook(self, url: str, secret: str, allowed: Sequence[str]) -> None: ...

    async def delete_webhook(self) -> None: ...

    async def close(self) -> None: ...
