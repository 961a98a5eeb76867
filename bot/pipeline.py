"""Receiving updates, whichever framework fetched them: store each in the inbox before Telegram
is told it arrived (the next getUpdates offset, or the webhook's 200), then read it, route it and
answer its tap, one update at a time per chat and many chats at once.

An update that cannot be read is marked failed and skipped: it never stops the process, and
nothing it says reaches the log.

With several workers (webhook processes behind one URL), two may hold updates of the same chat at
once: the inbox takes an update only after every earlier one of its chat (storage/inbox.py), and
the worker that finds earlier ones waiting handles them first, in order; the other worker then
finds them handled, and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.inbound import PatientMessage, PatientTap, Unreadable, chat_of, read_update
from bot.routes import Routes
from bot.transport import TelegramApi
from coach import metrics
from coach.services import Services
from storage.database import GroupCommit
from storage.inbox import NotYourTurn, Received

log = logging.getLogger(__name__)

TURNS = 5  # times an update waits for earlier ones of its chat that keep arriving before it is left for later


class UpdatePipeline:
    def __init__(self, services: Services, api: TelegramApi, wake_sender: Callable[[], None]) -> None:
        self.services = services
        self.database = services.database
        self.routes = Routes(services)
        self.api = api
        self.wake_sender = wake_sender
        self._locks: dict[int, asyncio.Lock] = {}
        # Updates that arrive while others are being stored (webhook requests come concurrently)
        # are stored together, in the next transaction: each request is answered once its own are in.
        self._receiving: GroupCommit[list[Received], list[Received]] = GroupCommit(self.database, services.inbox.store)
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, updates: Sequence[Mapping[str, Any]]) -> None:
        """Store updates in the inbox, then start handling the new ones. Returns once stored."""
        received = [Received(u["update_id"], chat_of(u), dict(u)) for u in updates if _has_id(u)]
        if len(received) < len(updates):
            log.warning("%d update(s) without an update_id skipped", len(updates) - len(received))
        fresh = await self._receiving.submit(received)
        for item in fresh:
            self._dispatch(item)

    async def recover(self) -> None:
        """Handle what was stored but not handled before the last stop or crash."""
        pending = await self.database.run(self.services.inbox.unhandled)
        if pending:
            log.info("handling %d updates left over from before the restart", len(pending))
        for item in pending:
            self._dispatch(item)

    @property
    def busy(self) -> bool:
        """Whether an update is being handled (or waits for the one before it in its chat)."""
        return bool(self._tasks)

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
                await self._in_turn(item)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _in_turn(self, item: Received, depth: int = 0) -> None:
        """Handle an update, after the earlier updates of its chat still waiting (another worker
        stored them, or a crash left them), whichever worker received those."""
        for _ in range(TURNS):
            try:
                await self._feed(item)
                return
            except NotYourTurn as turn:
                earlier = await self.database.run(self.services.inbox.waiting, turn.earlier)
                log.info("update %d waits for %d earlier update(s) of its chat", item.update_id, len(earlier),
                         extra={"update_id": item.update_id})  # fmt: skip
                if depth < TURNS:
                    for before in earlier:
                        await self._in_turn(before, depth + 1)
        log.warning("update %d left for later: earlier updates of its chat are still waiting", item.update_id,
                    extra={"update_id": item.update_id})  # fmt: skip

    async def _feed(self, item: Received) -> None:
        inbox = self.services.inbox
        started = time.perf_counter()
        try:
            inbound = read_update(item.payload, self.services.staff_chat_id)
        except Unreadable as problem:
            log.warning("update %d could not be read (%s); marked failed and skipped", item.update_id, problem,
                        extra={"update_id": item.update_id})  # fmt: skip
            metrics.UNREADABLE.inc()
            await self.database.run(inbox.failed, item.update_id)
            return
        route = type(inbound).__name__
        try:
            answer = await self.database.run(self.routes.route, item.update_id, inbound)
        except NotYourTurn:
            raise
        except Exception:
            # Never log what was written: the kind of event is enough to find the bug.
            log.exception("handling update %d (%s) failed", item.update_id, route,
                          extra={"update_id": item.update_id, "route": route})  # fmt: skip
            metrics.FAILED.inc()
            await self.database.run(inbox.failed, item.update_id)
            if isinstance(inbound, PatientMessage | PatientTap):
                await self.database.run(self.services.coach.apologise, inbound.person)
            query_id = getattr(inbound, "query_id", None)
            if query_id is not None:
                await self.api.answer_callback(query_id)
            self.wake_sender()
            return
        self.wake_sender()
        if answer.query_id is not None:
            await self.api.answer_callback(answer.query_id, answer.toast)
        elapsed = time.perf_counter() - started
        metrics.UPDATES.labels(route).inc()
        metrics.HANDLING.observe(elapsed)
        log.debug("update %d handled (%s) in %.1f ms", item.update_id, route, elapsed * 1000,
                  extra={"update_id": item.update_id, "route": route, "ms": round(elapsed * 1000, 1)})  # fmt: skip


def _has_id(update: Mapping[str, Any]) -> bool:
    return isinstance(update.get("update_id"), int) and not isinstance(update.get("update_id"), bool)
