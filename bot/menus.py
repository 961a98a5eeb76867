"""The command menus Telegram shows: the patients' in private chats (in every language the
course has), and the staff commands in the staff chat only."""

from __future__ import annotations

from bot.transport import MenuCommand, TelegramApi
from content.render import render
from content.schema import Content
from dialogs.desk.roles import COMMANDS as STAFF_COMMANDS

COMMANDS = (
    "start",
    "lesson",
    "menu",
    "progress",
    "tools",
    "resources",
    "reminders",
    "guide",
    "help",
    "privacy",
    "stop",
)


async def set_patient_commands(api: TelegramApi, content: Content) -> None:
    for locale, texts in content.locales.items():
        menu = [MenuCommand(name, render(texts.ui[f"command_{name}"], {})) for name in COMMANDS]
        await api.set_commands(menu, language=None if locale == content.default_locale else locale)


async def set_staff_commands(api: TelegramApi, content: Content, staff_chat_id: int) -> None:
    texts = content.for_locale(None).ui
    menu = [MenuCommand(name, render(texts[f"staff_command_{name}"], {})) for name in STAFF_COMMANDS]
    await api.set_commands(menu, chat_id=staff_chat_id)
