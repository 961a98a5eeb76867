"""Helpers for the fake Telegram server's own tests: inline keyboards, and raw HTTP calls to the fake."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox.botapi import FakeTelegram


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


async def raw_call(tg: FakeTelegram, method: str, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}/bot{token or tg.token}/{method}"
        async with http.post(url, **kwargs) as response:
            return response.status, await response.json()
