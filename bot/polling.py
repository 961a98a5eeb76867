"""Long polling: updates are stored before the next getUpdates confirms them to Telegram."""

from __future__ import annotations

import asyncio
import logging

from bot.pipeline import UpdatePipeline
from bot.transport import TelegramApi, Unavailable

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
POLL_TIMEOUT = 25


async def poll(api: TelegramApi, pipeline: UpdatePipeline) -> None:
    await api.delete_webhook()
    offset: int | None = None
    failures = 0
    while True:
        try:
            updates = await api.get_updates(offset, POLL_TIMEOUT, ALLOWED_UPDATES)
        except Unavailable as error:
            failures += 1
            wait = min(2.0**failures, 60.0)
            log.warning("getUpdates failed (%s); retrying in %.0f s", error, wait)
            await asyncio.sleep(wait)
            continue
        failures = 0
        if not updates:
            continue
        await pipeline.accept(updates)
        ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
        if ids:
            offset = max(ids) + 1
