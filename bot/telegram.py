"""The aiogram client: a Bot pointed at Telegram (or a stand-in), and outbox delivery through it."""

from __future__ import annotations

import asyncio
import base64
from contextlib import suppress
from typing import Any

from aiogram import Bot
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
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.transport import Blocked, Delivered, Delivery, Rejected, RetryAfter, TopicGone, Transient
from content.render import render
from content.schema import Content
from paincoach.charts import progress_png, series_from_payload

COMMANDS = ("start", "lesson", "menu", "progress", "tools", "resources", "reminders", "guide", "help", "stop")
SEND_TIMEOUT = 30.0
# What Telegram answers when a message is sent to (or a topic edited in) a deleted forum topic.
TOPIC_GONE = ("message thread not found", "TOPIC_ID_INVALID", "TOPIC_DELETED")


def make_bot(token: str, api_base_url: str, *, timeout: float = SEND_TIMEOUT) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url), timeout=timeout)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def keyboard(buttons: list[list[str]], per_row: int = 1) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    row_size = max(per_row, 1)
    keys = [InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[keys[i : i + row_size] for i in range(0, len(keys), row_size)])


class AiogramTransport:
    """Delivers outbox messages with aiogram and says how each delivery ended."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, chat_id: int, kind: str, payload: dict[str, Any]) -> Delivery:
        try:
            return await self._deliver(chat_id, kind, payload)
        except TelegramRetryAfter as error:
            return RetryAfter(float(error.retry_after))
        except TelegramForbiddenError as error:
            return Blocked(error.message[:200])
        except TelegramBadRequest as error:
            if "not modified" in error.message.lower():
                return Delivered(payload.get("message_id") or payload.get("thread_id"))
            if payload.get("thread_id") is not None and any(gone in error.message for gone in TOPIC_GONE):
                return TopicGone(error.message[:200])
            return Rejected(error.message[:200])
        except (TimeoutError, TelegramServerError, TelegramNetworkError) as error:
            return Transient(str(error)[:200] or type(error).__name__)

    async def _deliver(self, chat_id: int, kind: str, payload: dict[str, Any]) -> Delivery:
        markup = keyboard(payload.get("buttons") or [], payload.get("per_row", 1))
        if kind == "edit" and payload.get("caption"):
            await self.bot.edit_message_caption(
                chat_id=chat_id, message_id=int(payload["message_id"]), caption=payload["text"], reply_markup=markup
            )
            return Delivered(int(payload["message_id"]))
        if kind == "edit":
            await self.bot.edit_message_text(
                chat_id=chat_id, message_id=int(payload["message_id"]), text=payload["text"], reply_markup=markup
            )
            return Delivered(int(payload["message_id"]))
        if kind == "markup":
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=int(payload["message_id"]), reply_markup=markup
            )
            return Delivered(int(payload["message_id"]))
        if kind == "copy":
            copied = await self.bot.copy_message(
                chat_id=chat_id,
                from_chat_id=int(payload["from_chat_id"]),
                message_id=int(payload["message_id"]),
                message_thread_id=payload.get("thread_id"),
                reply_markup=markup,
            )
            return Delivered(copied.message_id)
        if kind == "photo":  # a chart (drawn now, in a worker thread) or PNG bytes in base64; an HTML caption
            photo = BufferedInputFile(await self._picture(payload), filename=payload.get("filename", "chart.png"))
            sent_photo = await self.bot.send_photo(
                chat_id=chat_id,
                photo=photo,
                caption=payload.get("caption") or None,
                reply_markup=markup,
                message_thread_id=payload.get("thread_id"),
            )
            return Delivered(sent_photo.message_id)
        if kind == "topic":
            topic = await self.bot.create_forum_topic(chat_id=chat_id, name=payload["name"])
            return Delivered(topic.message_thread_id)
        if kind == "topic_edit":
            if payload.get("thread_id") is None:
                return Delivered(None)  # the patient has no topic (the group has none): nothing to rename
            await self.bot.edit_forum_topic(
                chat_id=chat_id, message_thread_id=int(payload["thread_id"]), name=payload["name"]
            )
            return Delivered(int(payload["thread_id"]))
        if payload.get("typing") and chat_id > 0:
            await self._typing(chat_id)
        sent = await self.bot.send_message(
            chat_id=chat_id,
            text=payload["text"],
            reply_markup=markup,
            message_thread_id=payload.get("thread_id"),
            reply_to_message_id=payload.get("reply_to"),
            disable_web_page_preview=True,
        )
        return Delivered(sent.message_id)

    @staticmethod
    async def _picture(payload: dict[str, Any]) -> bytes:
        if "chart" in payload:
            series = series_from_payload(payload["chart"])
            return await asyncio.to_thread(progress_png, series)
        return base64.b64decode(payload["photo"])

    async def _typing(self, chat_id: int) -> None:
        """Show "typing…" before a message to a patient; if that fails, the message matters more."""
        with suppress(TelegramAPIError, TelegramNetworkError, TimeoutError):
            await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)


async def set_commands(bot: Bot, content: Content) -> None:
    """Show the command menu in private chats, in every language the content has."""
    for locale, texts in content.locales.items():
        commands = [BotCommand(command=name, description=render(texts.ui[f"command_{name}"], {})) for name in COMMANDS]
        language = None if locale == content.default_locale else locale
        await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=language)
