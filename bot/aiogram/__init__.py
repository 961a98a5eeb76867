"""The aiogram 3 adapter: the only code that imports aiogram."""

from bot.aiogram.api import AiogramApi, make_bot

__all__ = ["AiogramApi", "make_bot"]
