"""The python-telegram-bot 22 adapter: the only code that imports telegram."""

from bot.ptb.api import PtbApi, make_bot

__all__ = ["PtbApi", "make_bot"]
