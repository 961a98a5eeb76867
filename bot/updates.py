"""Receiving updates: store each in the inbox before Telegram is told it arrived (polling offset
or webhook 200), then handle them one at a time per chat, many chats at once."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.types import Update
from aiohttp import web

from paincoach.coach import Coach
from storage.database import Database
from storage.inbox import Received

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 25
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def chat_of(update: dict[str, Any]) -> int | None:
    for key in ("message", "edited_message"):
        if key in update:
            return int(update[key]["chat"]["id"])
    query = update.get("callback_query")
    if query:
        message = query.get("message")
        return int(message["chat"]["id"]) if message else int(query["from"]["id"])
    return None


class UpdatePipeline:
    def __init__(self, coach: Coach, database: Database, dispatcher: Dispatcher, bot: Bot) -> None:
        self.coach = coach
        self.database = database
        self.dispatcher = dispatcher
        self.bot = bot
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Store updates in the inbox, then start handling the new ones. Returns once stored."""
        received = [Received(int(u["update_id"]), chat_of(u), u) for u in updates]
        fresh = await self.database.run(self.coach.receive, received)
        for item in fresh:
            self._dispatch(item)

    async def recover(self) -> None:
        """Handle what was stored but not handled before the last stop or crash."""
        pending = await self.database.run(self.coach.unhandled)
        if pending:
            log.info("handling %d updates left over from before the restart", len(pending))
        for item in pending:
            self._dispatch(item)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _dispatch(self, item: Received) -> None:
        task = asyncio.create_task(self._process(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, item: Received) -> None:
        key = item.chat_id or 0
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await self._feed(item)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _feed(self, item: Received) -> None:
        try:
            update = Update.model_validate(item.payload, context={"bot": self.bot})
            result = await self.dispatcher.feed_update(self.bot, update)
        except Exception:
            log.exception("update %d could not be handled", item.update_id)
            await self.database.run(self.coach.mark_handled, item.update_id, failed=True)
            return
        if result is UNHANDLED:
            await self.database.run(self.coach.mark_handled, item.update_id)


async def poll(bot: Bot, pipeline: UpdatePipeline) -> None:
    """Long polling: updates are stored before the next getUpdates confirms them to Telegram."""
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    failures = 0
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=POLL_TIMEOUT,
                allowed_updates=ALLOWED_UPDATES,
                request_timeout=POLL_TIMEOUT + 10,
            )
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as error:
            failures += 1
            wait = min(2.0**failures, 60.0)
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(error).__name__, wait)
            await asyncio.sleep(wait)
            continue
        failures = 0
        if not updates:
            continue
        raw = [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]
        await pipeline.accept(raw)
        offset = updates[-1].update_id + 1


def webhook_app(pipeline: UpdatePipeline, path: str, secret: str) -> web.Application:
    """The webhook endpoint: checks Telegram's secret token, stores the update, then answers 200."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook call with a wrong or missing secret token refused")
            return web.Response(status=401)
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400)
        await pipeline.accept([update])
        return web.Response()

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(path, receive)
    app.router.add_get("/healthz", health)
    return app
