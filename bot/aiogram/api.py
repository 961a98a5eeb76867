"""The aiogram adapter: every Bot API call the coach makes, through aiogram's `Bot`.

Updates are fetched as the Bot API's JSON (`RawGetUpdates`), not as aiogram objects: one update
aiogram cannot read (an older self-hosted server's poll, a field added later) must not take the
whole batch, or the process, with it. The coach reads updates itself (bot/inbound.py).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from aiogram import Bot, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

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


class RawGetUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates, answered as plain JSON objects."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


# aiogram parses every answer as `Response[<what the method returns>]`, a pydantic generic model
# that pydantic caches only weakly: once the garbage collector has freed it, the next call builds
# the model again (about a third of a millisecond, each Bot API call). Held here, each is built once.
_RESPONSES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        methods.SendMessage, methods.EditMessageText, methods.EditMessageCaption, methods.EditMessageReplyMarkup,
        methods.CopyMessage, methods.SendPhoto, methods.SendDocument, methods.CreateForumTopic,
        methods.DeleteForumTopic, methods.EditForumTopic, methods.SendChatAction, methods.GetMe, methods.GetChat,
        methods.SetMyCommands, methods.AnswerCallbackQuery, methods.SetWebhook, methods.DeleteWebhook, RawGetUpdates,
    )
)  # fmt: skip


def make_bot(token: str, api_base_url: str, *, timeout: float = SEND_TIMEOUT) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url), timeout=timeout)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def keyboard(buttons: Buttons, per_row: int = 1) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    row_size = max(per_row, 1)
    keys = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[keys[i : i + row_size] for i in range(0, len(keys), row_size)])


class AiogramApi:
    """`bot.transport.TelegramApi` on aiogram 3."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def connect(cls, token: str, api_base_url: str) -> AiogramApi:
        return cls(make_bot(token, api_base_url))

    # -- delivering the outbox ------------------------------------------------------------

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        try:
            return await self._deliver(chat_id, payload)
        except TelegramRetryAfter as error:
            return RetryAfter(float(error.retry_after))
        except TelegramForbiddenError as error:
            return Blocked(error.message[:200])
        except TelegramBadRequest as error:
            if "not modified" in error.message.lower():
                return Delivered(getattr(payload, "message_id", None))
            where = getattr(payload, "where", None)
            if where is not None and where.thread_id is not None and any(g in error.message for g in TOPIC_GONE):
                return TopicGone(error.message[:200])
            return Rejected(error.message[:200])
        except (TimeoutError, TelegramServerError, TelegramNetworkError) as error:
            return Transient(str(error)[:200] or type(error).__name__)

    async def _deliver(self, chat_id: int, payload: Payload) -> Delivery:
        bot = self.bot
        if isinstance(payload, Edit):
            assert payload.message_id is not None
            markup = keyboard(payload.buttons, payload.per_row)
            if payload.caption:
                await bot.edit_message_caption(
                    chat_id=chat_id, message_id=payload.message_id, caption=payload.text, reply_markup=markup
                )
            else:
                await bot.edit_message_text(
                    chat_id=chat_id, message_id=payload.message_id, text=payload.text, reply_markup=markup
                )
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
            photo = BufferedInputFile(await picture(payload), filename=payload.filename)
            sent_photo = await bot.send_photo(
                chat_id=chat_id, photo=photo, caption=payload.caption or None, reply_markup=keyboard(payload.buttons),
                message_thread_id=payload.where.thread_id,
            )  # fmt: skip
            return Delivered(sent_photo.message_id)
        if isinstance(payload, Document):  # a file to keep: a lesson's handout
            document = BufferedInputFile(base64.b64decode(payload.data_base64), filename=payload.filename)
            sent_document = await bot.send_document(
                chat_id=chat_id, document=document, caption=payload.caption or None,
                reply_markup=keyboard(payload.buttons), message_thread_id=payload.where.thread_id,
            )  # fmt: skip
            return Delivered(sent_document.message_id)
        if isinstance(payload, CreateTopic):
            topic = await bot.create_forum_topic(chat_id=chat_id, name=payload.name)
            return Delivered(topic.message_thread_id)
        if isinstance(payload, DeleteTopic):  # an erased patient's topic, with every message in it
            try:
                await bot.delete_forum_topic(chat_id=chat_id, message_thread_id=payload.thread_id)
            except TelegramBadRequest as error:
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
            chat_id=chat_id, text=payload.text, reply_markup=keyboard(payload.buttons, payload.per_row),
            message_thread_id=payload.where.thread_id, reply_to_message_id=payload.reply_to,
            disable_web_page_preview=True,
        )  # fmt: skip
        return Delivered(sent.message_id)

    async def _typing(self, chat_id: int) -> None:
        """Show "typing…" before a message to a patient; if that fails, the message matters more."""
        with suppress(TelegramAPIError, TelegramNetworkError, TimeoutError):
            await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)

    # -- everything else ------------------------------------------------------------------

    async def get_me(self) -> str:
        me = await self.bot.get_me()
        return me.username or ""

    async def is_forum(self, chat_id: int) -> bool:
        try:
            chat = await self.bot.get_chat(chat_id)
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as error:
            raise Unavailable(type(error).__name__) from None
        return bool(chat.is_forum)

    async def set_commands(
        self, commands: Sequence[MenuCommand], *, chat_id: int | None = None, language: str | None = None
    ) -> None:
        scope = BotCommandScopeChat(chat_id=chat_id) if chat_id is not None else BotCommandScopeAllPrivateChats()
        menu = [BotCommand(command=c.command, description=c.description) for c in commands]
        await self.bot.set_my_commands(menu, scope=scope, language_code=language)

    async def answer_callback(self, query_id: str, text: str | None = None) -> None:
        """Answer a tap; an expired or unknown query is not worth more than a log line."""
        try:
            await self.bot.answer_callback_query(callback_query_id=query_id, text=text)
        except Exception as error:
            log.warning("could not answer a button tap: %s", type(error).__name__)

    async def get_updates(self, offset: int | None, poll_seconds: int, allowed: Sequence[str]) -> list[dict[str, Any]]:
        method = RawGetUpdates(offset=offset, timeout=poll_seconds, allowed_updates=list(allowed))
        try:
            return await self.bot(method, request_timeout=poll_seconds + 10)
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as error:
            raise Unavailable(type(error).__name__) from None

    async def set_webhook(self, url: str, secret: str, allowed: Sequence[str]) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(allowed), drop_pending_updates=False)

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def close(self) -> None:
        await self.bot.session.close()
