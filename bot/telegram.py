"""The aiogram client: a Bot pointed at Telegram (or a stand-in), and outbox delivery through it."""

from __future__ import annotations

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
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.transport import Blocked, Delivered, Delivery, Rejected, RetryAfter, Transient
from content.render import render
from content.schema import Content

COMMANDS = ("start", "lesson", "menu", "progress", "tools", "resources", "reminders", "help", "stop")
SEND_TIMEOUT = 30.0


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
            if kind == "edit":
                await self.bot.edit_message_text(
                    chat_id=chat_id,
                    message_id=int(payload["message_id"]),
                    text=payload["text"],
                    reply_markup=keyboard(payload.get("buttons") or [], payload.get("per_row", 1)),
                )
                return Delivered(int(payload["message_id"]))
            if payload.get("typing") and chat_id > 0:
                await self._typing(chat_id)
            sent = await self.bot.send_message(
                chat_id=chat_id,
                text=payload["text"],
                reply_markup=keyboard(payload.get("buttons") or [], payload.get("per_row", 1)),
                message_thread_id=payload.get("thread_id"),
                disable_web_page_preview=True,
            )
            return Delivered(sent.message_id)
        except TelegramRetryAfter as error:
            return RetryAfter(float(error.retry_after))
        except TelegramForbiddenError as error:
            return Blocked(error.message[:200])
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return Delivered(payload.get("message_id"))
            return Rejected(error.message[:200])
        except (TimeoutError, TelegramServerError, TelegramNetworkError) as error:
            return Transient(str(error)[:200] or type(error).__name__)

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
