"""The state all parts of the fake share (chats, updates, calls), what tests read of it, and waiting on it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sandbox.botapi.errors import TelegramError, _bad_request
from sandbox.botapi.params import Params
from sandbox.botapi.records import (
    ApiCall,
    FakeMessage,
    WebhookAttempt,
    _CallbackQuery,
    _Chat,
    _Delay,
    _Failure,
    _Update,
    _Webhook,
)

if TYPE_CHECKING:
    from sandbox.botapi.people import FakeGroup, FakeUser

T = TypeVar("T")


class _Core:
    """The fake's state and the helpers every group of Bot API methods uses; FakeTelegram is built on it."""

    def __init__(self, token: str, bot_id: int, bot_username: str) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.calls: list[ApiCall] = []
        self.webhook_attempts: list[WebhookAttempt] = []

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[_Update] = []
        self._next_update_id = 100_000_001
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._next_callback = 1
        self._seq = 0
        self._file_seq = 0
        self._photos: dict[str, tuple[bytes, tuple[int, int]]] = {}  # file_id -> (image, (width, height))
        self._commands: dict[tuple[str, str], list[Params]] = {}
        self._webhook: _Webhook | None = None
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0

        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._rate_per_chat: float | None = None
        self._rate_global: float | None = None
        self._chat_sends: dict[int, deque[float]] = {}
        self._global_sends: deque[float] = deque()
        self._clock: Callable[[], float] = time.monotonic  # the time flood control reads
        self.dates: Callable[[], float] = time.time  # what messages are dated by (the sandbox's clock moves it on)

        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._last_activity = time.monotonic()
        self._in_flight = 0
        self._webhook_busy = False

    @property
    def bot_user(self) -> Params:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "PainCoach Test",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest message sent or edited; later ones have higher."""
        return self._seq

    def messages(self, chat_id: int) -> list[FakeMessage]:
        """The bot's messages in a chat, oldest first ([] for unknown chats).

        Snapshots: later edits change what the next call returns, never a
        FakeMessage a test already holds.
        """
        chat = self._chats.get(chat_id)
        return copy.deepcopy(chat.bot_messages()) if chat else []

    def queue_update(self, update: Params) -> int:
        """Queue any update object (update_id is assigned); returns the id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append(_Update(update_id, {"update_id": update_id, **update}))
        self._touch()
        return update_id

    def unanswered_callbacks(self) -> list[str]:
        """Ids of button taps the bot has not answered (Telegram shows a spinner until it does)."""
        return [q.query_id for q in self._callbacks.values() if q.answer is None]

    @property
    def callback_count(self) -> int:
        return len(self._callbacks)

    def calls_of(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (name case-insensitive)."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def _take_message_id(self, chat: _Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _chat(self, params: Params) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        person = self._users.get(chat.id)
        if person is not None and person.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _api_message(self, chat: _Chat, message: FakeMessage, nested: bool = False) -> Params:
        body: Params = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.info,
            "from": message.sender,
        }
        if message.service is not None:
            body.update(message.service)
        elif message.photo is not None or message.document is not None or message.media is not None:
            if message.photo is not None:
                body["photo"] = message.photo
            elif message.document is not None:
                body["document"] = message.document
            else:
                body.update(message.media or {})
            if message.text:
                body["caption"] = message.text
                if message.entities:
                    body["caption_entities"] = message.entities
        else:
            body["text"] = message.text
            if message.entities:
                body["entities"] = message.entities
        if message.thread_id is not None:
            body["message_thread_id"] = message.thread_id
            if chat.info.get("is_forum"):
                body["is_topic_message"] = True
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.inline_markup is not None:
            body["reply_markup"] = message.inline_markup
        reply_to = chat.messages.get(message.reply_to_message_id or 0)
        if reply_to is None and chat.info.get("is_forum") and message.thread_id is not None:
            # In a topic, a message that answers nothing else answers the topic's first message.
            reply_to = chat.messages.get(message.thread_id) if message.message_id != message.thread_id else None
        if reply_to is not None and not nested:
            body["reply_to_message"] = self._api_message(chat, reply_to, nested=True)
        return body

    # ---- waiting ---------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, at_most: float) -> None:
        if at_most <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), at_most)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _wait_until(self, find: Callable[[], T | None], within: float, explain: Callable[[], str]) -> T:
        deadline = time.monotonic() + within
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(explain())
            # Wake on changes here, and poll for changes made elsewhere.
            await self._wait_change(min(remaining, 0.05))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until predicate() is true; AssertionError after timeout."""
        await self._wait_until(
            lambda: True if predicate() else None,
            timeout,
            lambda: f"condition not met within {timeout}s",
        )

    async def wait_answered(self, callback_query_id: str, timeout: float = 5.0) -> Params:  # noqa: ASYNC109
        """Wait for answerCallbackQuery of this query; return its parameters."""
        if callback_query_id not in self._callbacks:
            raise AssertionError(f"unknown callback query {callback_query_id!r}")
        query = self._callbacks[callback_query_id]
        return await self._wait_until(
            lambda: query.answer,
            timeout,
            lambda: f"callback query {callback_query_id} ({query.data!r}) was not answered within {timeout}s",
        )

    def _busy(self) -> str | None:
        if self._in_flight:
            return f"{self._in_flight} API call(s) in progress"
        if self._webhook_busy:
            return "a webhook delivery is in progress"
        waiting = len(self._updates) if self._webhook else sum(not u.handed_out for u in self._updates)
        if waiting:
            return f"{waiting} update(s) not yet received by the bot"
        return None

    async def settle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once all queued updates reached the bot and no API call has
        arrived (or been in progress) for `quiet` seconds. Long polls don't count."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = self._busy()
            if busy is None and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"fake Telegram did not settle within {timeout}s: {busy or 'API calls kept arriving'}"
                )
            await asyncio.sleep(min(0.02, quiet / 2 or 0.01))
