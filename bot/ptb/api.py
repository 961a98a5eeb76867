"""The python-telegram-bot 22 adapter: every Bot API call the coach makes, through `telegram.Bot`.

As with aiogram (bot/aiogram/api.py), updates are fetched as the Bot API's JSON, not as
python-telegram-bot objects (`Bot.do_api_request("getUpdates")` without a return type): one
update it cannot read must not take the whole batch with it. The coach reads updates itself
(bot/inbound.py), and handles them in the one pipeline (bot/pipeline.py), not in
`telegram.ext.Application`: the inbox comes first, and a chat's updates stay in order.

Only `telegram.Bot` is used, with no `Defaults`: the parse mode is given on every call.
"""

from __future__ import annotations

import base64
import logging
import os
import warnings
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.charts import picture
from bot.transport import (
    TOPIC_GONE,
    Blocked,
    Delivered,
    Delivery,
    MenuCommand,
    Rejected,
    RetryAfter,
    TopicGone,
    Transient,
    Unavailable,
)
from storage.payloads import (
    Buttons,
    Copy,
    CreateTopic,
    DeleteTopic,
    Document,
    Edit,
    EditButtons,
    Message,
    Payload,
    Photo,
    RenameTopic,
)

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0
# A modest pool (../shared/PERFORMANCE.md: a large one cost more than it gave). The sender sends
# to at most 8-32 chats at once and waits for a free connection rather than fail.
CONNECTIONS = 16
HTML = ParseMode.HTML
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

# Durations as timedelta (RetryAfter.retry_after), python-telegram-bot's announced next default
# (read when used): opting in now keeps its deprecation warning out of every 429.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# getUpdates is asked for as raw JSON on purpose (see the module docstring); the library's hint
# to use `Bot.get_updates` instead is not for us.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


def make_bot(token: str, api_base_url: str, *, timeout: float = SEND_TIMEOUT) -> Bot:
    """A `telegram.Bot` on this Bot API server (Telegram's, or a local one such as the fake)."""
    keep_quiet()

    # One pool for every call, and one connection more for long polling (each getUpdates gives its
    # own longer read timeout), so `bot.request.shutdown()` closes all.
    request = HTTPXRequest(
        connection_pool_size=CONNECTIONS + 1,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        media_write_timeout=timeout,
        pool_timeout=timeout,
    )
    return Bot(token, base_url=f"{api_base_url}/bot", request=request, get_updates_request=request)


def keep_quiet() -> None:
    """python-telegram-bot logs every call's parameters and answer at DEBUG (what patients wrote,
    in getUpdates), and httpx every URL at INFO (the token is in it): neither may reach a log,
    whatever the level the program or a test chose, so both are held to WARNING here."""
    for name in ("telegram", "httpx"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET too: it would follow the root's level
            logger.setLevel(logging.WARNING)


def keyboard(buttons: Buttons, per_row: int = 1) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    row_size = max(per_row, 1)
    keys = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup([keys[i : i + row_size] for i in range(0, len(keys), row_size)])


def seconds(error: PtbRetryAfter) -> float:
    """How long Telegram asked us to wait (a timedelta; an int where PTB_TIMEDELTA=false)."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def is_transient(error: Exception) -> bool:
    """A timeout, a network failure or a server error (python-telegram-bot raises NetworkError for
    5xx and connection problems, TimedOut for timeouts; BadRequest is a NetworkError too, but not this)."""
    return isinstance(error, TimeoutError) or (isinstance(error, NetworkError) and not isinstance(error, BadRequest))


class PtbApi:
    """`bot.transport.TelegramApi` on python-telegram-bot 22."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def connect(cls, token: str, api_base_url: str) -> PtbApi:
        return cls(make_bot(token, api_base_url))

    # -- delivering the outbox ------------------------------------------------------------

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        try:
            return await self._deliver(chat_id, payload)
        except PtbRetryAfter as error:
            return RetryAfter(seconds(error))
        except Forbidden as error:
            return Blocked(error.message[:200])
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return Delivered(getattr(payload, "message_id", None))
            where = getattr(payload, "where", None)
            # python-telegram-bot drops Telegram's "Bad Request: " and capitalises what is left
            said = error.message.lower()
            if where is not None and where.thread_id is not None and any(g.lower() in said for g in TOPIC_GONE):
                return TopicGone(error.message[:200])
            return Rejected(error.message[:200])
        except (TimeoutError, NetworkError) as error:  # NetworkError: 5xx, TimedOut, connection failures
            return Transient(str(error)[:200] or type(error).__name__)

    async def _deliver(self, chat_id: int, payload: Payload) -> Delivery:
        bot = self.bot
        if isinstance(payload, Edit):
            assert payload.message_id is not None
            markup = keyboard(payload.buttons, payload.per_row)
            if payload.caption:
                await bot.edit_message_caption(
                    chat_id=chat_id, message_id=payload.message_id, caption=payload.text, parse_mode=HTML,
                    reply_markup=markup,
                )  # fmt: skip
            else:
                await bot.edit_message_text(
                    chat_id=chat_id, message_id=payload.message_id, text=payload.text, parse_mode=HTML,
                    reply_markup=markup,
                )  # fmt: skip
            return Delivered(payload.message_id)
        if isinstance(payload, EditButtons):
            assert payload.message_id is not None
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=payload.message_id, reply_markup=keyboard(payload.buttons)
            )
            return Delivered(payload.message_id)
        if isinstance(payload, Copy):
            copied = await bot.copy_message(
                chat_id=chat_id, from_chat_id=payload.from_chat_id, message_id=payload.message_id,
                message_thread_id=payload.where.thread_id, reply_markup=keyboard(payload.buttons),
            )  # fmt: skip
            return Delivered(copied.message_id)
        if isinstance(payload, Photo):  # a chart, drawn now in a worker thread, or a ready PNG
            sent_photo = await bot.send_photo(
                chat_id=chat_id, photo=await picture(payload), filename=payload.filename,
                caption=payload.caption or None, parse_mode=HTML, reply_markup=keyboard(payload.buttons),
                message_thread_id=payload.where.thread_id,
            )  # fmt: skip
            return Delivered(sent_photo.message_id)
        if isinstance(payload, Document):  # a file to keep: a lesson's handout
            sent_document = await bot.send_document(
                chat_id=chat_id, document=base64.b64decode(payload.data_base64), filename=payload.filename,
                caption=payload.caption or None, parse_mode=HTML, reply_markup=keyboard(payload.buttons),
                message_thread_id=payload.where.thread_id,
            )  # fmt: skip
            return Delivered(sent_document.message_id)
        if isinstance(payload, CreateTopic):
            topic = await bot.create_forum_topic(chat_id=chat_id, name=payload.name)
            return Delivered(topic.message_thread_id)
        if isinstance(payload, DeleteTopic):  # an erased patient's topic, with every message in it
            try:
                await bot.delete_forum_topic(chat_id=chat_id, message_thread_id=payload.thread_id)
            except BadRequest as error:
                if not any(g.lower() in error.message.lower() for g in TOPIC_GONE):
                    raise
            return Delivered(None)  # deleted now, or by staff before: gone either way
        if isinstance(payload, RenameTopic):
            if payload.where.thread_id is None:
                return Delivered(None)  # the patient has no topic (the group has none): nothing to rename
            await bot.edit_forum_topic(chat_id=chat_id, message_thread_id=payload.where.thread_id, name=payload.name)
            return Delivered(payload.where.thread_id)
        assert isinstance(payload, Message)
        if payload.typing and chat_id > 0:
            await self._typing(chat_id)
        sent = await bot.send_message(
            chat_id=chat_id, text=payload.text, parse_mode=HTML,
            reply_markup=keyboard(payload.buttons, payload.per_row), message_thread_id=payload.where.thread_id,
            reply_to_message_id=payload.reply_to, link_preview_options=NO_PREVIEW,
        )  # fmt: skip
        return Delivered(sent.message_id)

    async def _typing(self, chat_id: int) -> None:
        """Show "typing…" before a message to a patient; if that fails, the message matters more."""
        with suppress(TelegramError, TimeoutError):
            await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)

    # -- everything else ------------------------------------------------------------------

    async def get_me(self) -> str:
        me = await self.bot.get_me()
        return me.username or ""

    async def is_forum(self, chat_id: int) -> bool:
        try:
            chat = await self.bot.get_chat(chat_id)
        except (TimeoutError, NetworkError) as error:
            if not is_transient(error):
                raise
            raise Unavailable(type(error).__name__) from None
        return bool(chat.is_forum)

    async def set_commands(
        self, commands: Sequence[MenuCommand], *, chat_id: int | None = None, language: str | None = None
    ) -> None:
        scope = BotCommandScopeChat(chat_id) if chat_id is not None else BotCommandScopeAllPrivateChats()
        menu = [BotCommand(c.command, c.description) for c in commands]
        await self.bot.set_my_commands(menu, scope=scope, language_code=language)

    async def answer_callback(self, query_id: str, text: str | None = None) -> None:
        """Answer a tap; an expired or unknown query is not worth more than a log line."""
        try:
            await self.bot.answer_callback_query(callback_query_id=query_id, text=text)
        except Exception as error:
            log.warning("could not answer a button tap: %s", type(error).__name__)

    async def get_updates(self, offset: int | None, poll_seconds: int, allowed: Sequence[str]) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {"timeout": poll_seconds, "allowed_updates": list(allowed)}
        if offset is not None:
            arguments["offset"] = offset
        try:
            updates = await self.bot.do_api_request(
                "getUpdates", api_kwargs=arguments, read_timeout=poll_seconds + 10, pool_timeout=poll_seconds + 10
            )
        except (TimeoutError, NetworkError) as error:
            if not is_transient(error):
                raise
            raise Unavailable(type(error).__name__) from None
        if not isinstance(updates, list):
            raise Unavailable(f"getUpdates answered {type(updates).__name__}, not a list")
        return [u for u in updates if isinstance(u, dict)]

    async def set_webhook(self, url: str, secret: str, allowed: Sequence[str]) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(allowed), drop_pending_updates=False)

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def close(self) -> None:
        """Close the connection pool (`Bot.shutdown` would only if `Bot.initialize` had run)."""
        await self.bot.request.shutdown()
