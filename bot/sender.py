"""The outbox sender: sends what the coach wrote to the outbox, in order per chat, within
Telegram's limits (a global rate, and at most one broadcast message a second per chat); honours
429 retry_after, retries 5xx and timeouts with backoff, and marks a patient who blocked the bot
as unreachable without stopping anything else. One sender runs at a time: the scheduler lease
holder's (scheduler/service.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.transport import Blocked, Delivered, Delivery, Rejected, RetryAfter, TopicGone, Transient, Transport
from clock import Clock
from clock.ticker import SteadyTicker, Ticker
from coach import metrics
from storage import outbox
from storage.database import Database, GroupCommit
from storage.outbox import Claimed, Priority
from storage.payloads import forgets

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)  # transient failures are retried for this long
MAX_BACKOFF = 300.0
# A chat's messages claimed at once, and sent one after another in a round: a lesson step's few
# messages (the content check allows three in a row without a tap), and the edit that takes the
# last question's buttons away, arrive without waiting a round each.
CHAIN = 4
BULK_AHEAD = 0.25  # seconds of the bulk rate a round may claim (so a round waits at most that for it)

# Called, inside the transaction that records the delivery, when a message's forum topic was
# deleted: make the topic again and put the message back in the queue.
TopicGoneHook = Callable[[Session, Claimed, datetime], None]


def backoff(attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: 1, 2, 4 ... up to five minutes."""
    return float(min(2 ** max(attempts, 0), MAX_BACKOFF))


class RateLimiter:
    """A token bucket: at most `rate` bulk sends a second, in bursts of at most `burst`.

    Telegram's ceiling of about 30 messages a second is for bulk messages. Replies to what a
    patient just did, and risk alerts, never wait for a token (`spend`), but they use one, going
    into debt if need be: bulk sending (`acquire`) then waits until the debt is paid, so replies
    take their share of the ceiling first. A 429 pause holds everyone.
    """

    def __init__(self, rate: float, burst: int | None = None, ticker: Ticker | None = None) -> None:
        self.ticker = ticker or SteadyTicker()
        # Telegram counts sends over a second. A bucket lets through its burst plus a second's
        # refill in any one second, and a 429 stops all sending for a second or more, so the
        # burst (a fiftieth of a second's worth) comes out of the rate, with 2% to spare for
        # requests that arrive a little bunched: at most 98% of `rate` in any second.
        self.capacity = float(burst or max(1, int(rate / 50)))
        self.rate = rate if burst else max(rate * 0.98 - self.capacity, rate * 0.9)
        self.tokens = self.capacity
        self.updated = self.ticker.monotonic()
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.ticker.monotonic() + seconds)

    async def spend(self) -> None:
        """Use a token without waiting for one (a reply, an alert): only a 429 pause holds it."""
        now = self.ticker.monotonic()
        if now < self.paused_until:
            await self.ticker.sleep(self.paused_until - now)
            now = self.ticker.monotonic()
        self._refill(now)
        self.tokens = max(self.tokens - 1, -self.rate)  # at most a second's worth of debt

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def allowance(self, seconds: float) -> int:
        """How many bulk sends can start within `seconds` from now (none while paused or in debt)."""
        now = self.ticker.monotonic()
        if now < self.paused_until:
            return 0
        self._refill(now)
        return max(0, int(self.tokens + self.rate * seconds))

    def until_allowed(self, seconds: float) -> float:
        """Seconds until `allowance(seconds)` is at least one."""
        now = self.ticker.monotonic()
        self._refill(now)
        return max(self.paused_until - now, (1 - self.tokens) / self.rate - seconds, 0.0)

    async def acquire(self) -> None:
        while True:
            now = self.ticker.monotonic()
            if now < self.paused_until:
                await self.ticker.sleep(self.paused_until - now)
                continue
            self._refill(now)
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await self.ticker.sleep((1 - self.tokens) / self.rate)


class Sender:
    def __init__(
        self,
        database: Database,
        transport: Transport,
        clock: Clock,
        *,
        rate: float = 25.0,
        concurrency: int | None = None,
        poll_interval: float = 1.0,
        on_topic_gone: TopicGoneHook | None = None,
        chat_gap: float = 1.0,
        ticker: Ticker | None = None,
    ) -> None:
        self.database = database
        self.transport = transport
        self.clock = clock
        self.ticker = ticker or SteadyTicker()  # pacing: real seconds, or a VirtualTicker in tests
        self.limiter = RateLimiter(rate, ticker=self.ticker)
        # Enough requests in flight to reach the rate; rounds of about a second's sending at most,
        # so a message that must go first (a risk alert) never waits long behind a broadcast.
        self.concurrency = concurrency or min(32, max(8, int(rate / 50)))
        self.batch = min(max(int(rate), self.concurrency), 128)
        self.poll_interval = poll_interval
        self.on_topic_gone = on_topic_gone
        self.chat_gap = chat_gap  # seconds between a broadcast message and the one before it, per chat
        self._last_sent: dict[int, float] = {}  # chat -> monotonic time of the last send
        self._wake = asyncio.Event()
        self._stopping = False
        self._round = asyncio.Lock()  # one round at a time, so drain() waits for a round in progress
        # While running, a round that has taken its last bulk token claims the next round, which
        # starts while its last requests finish, so the rate is not left idle between rounds. The
        # chats of those requests are skipped (a chat has one message in flight at a time), and
        # one gate keeps `concurrency` requests in flight in all.
        self._ahead: asyncio.Future[list[Claimed]] | None = None
        self._claim_ahead = False
        self._gate = asyncio.Semaphore(self.concurrency)
        self._busy: set[int] = set()  # chats with a message being sent
        self._tails: set[asyncio.Future[list[None]]] = set()  # rounds still finishing
        # How each send ended, recorded as soon as it is known; sends that end while a record is
        # being committed are recorded together, in the next transaction (storage/database.py).
        self._records: GroupCommit[tuple[Claimed, Delivery], None] = GroupCommit(database, self._record_one)
        # Likewise the marks of broadcast messages about to be sent (each committed before its request).
        self._marks: GroupCommit[int, None] = GroupCommit(database, outbox.mark_sending)

    def wake(self) -> None:
        """Something was written to the outbox: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._stopping = False
        self._claim_ahead = True
        try:
            await self._run()
        except asyncio.CancelledError:  # the process is going down: its rounds go with it
            for round_ in self._tails:
                round_.cancel()
            raise
        else:  # stopped: the rounds in progress finish, and a claim made ahead goes back
            await asyncio.gather(*self._tails, return_exceptions=True)
            await self._release_ahead()
        finally:
            self._claim_ahead = False

    async def _release_ahead(self) -> None:
        """A claim made ahead and not sent (the sender stopped): back in the queue."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        with suppress(Exception):
            if ids := [message.id for message in await ahead]:
                await self.database.run(self._release, ids)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("the outbox sender failed; trying again shortly")
                sent = 0
            if sent:
                continue  # there may be more right behind
            # Bulk messages left waiting for the rate are looked at again as soon as it allows.
            wait = self.poll_interval
            if (until_allowed := self.limiter.until_allowed(BULK_AHEAD)) > 0:
                wait = min(wait, max(until_allowed, 0.01))
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def send_due(self) -> int:
        """Send one round: the first due messages of every chat. Returns how many were tried."""
        async with self._round:
            return await self._send_round()

    async def _send_round(self) -> int:
        claimed = await self._claimed()
        if not claimed:
            return 0
        bulk_to_start = sum(1 for message in claimed if message.priority >= Priority.SCHEDULED)
        all_bulk_started = asyncio.Event()

        def bulk_started() -> None:
            nonlocal bulk_to_start
            bulk_to_start -= 1
            if bulk_to_start == 0 and self._claim_ahead:
                all_bulk_started.set()
                if self._ahead is None:
                    self._ahead = asyncio.ensure_future(self._claim_now())

        chains: dict[int, list[Claimed]] = {}  # a chat's messages claimed together, in their order
        for message in claimed:
            chains.setdefault(message.chat_id, []).append(message)

        async def one(message: Claimed) -> Delivery:
            if message.priority >= Priority.BROADCAST:
                await self._pace(message.chat_id)
            # A broadcast's message is recorded on each side of its request: a crash leaves in
            # doubt only one marked `sending` and not yet recorded (at most one per chat, and
            # `concurrency` in all), and that one is not sent twice (outbox.recover_in_flight).
            # Other messages are `sending` from their claim, and sent again after a crash.
            # The token is taken after the mark, so that requests leave at the rate it keeps.
            if message.priority >= Priority.BROADCAST:
                await self._marks.submit(message.id)
            if message.priority >= Priority.SCHEDULED:  # reminders, releases, broadcasts: bulk
                await self.limiter.acquire()
                bulk_started()
            else:  # a reply to the patient, or a risk alert: counted, never kept waiting
                await self.limiter.spend()
            delivery = await self._deliver(message)
            self._last_sent[message.chat_id] = self.ticker.monotonic()
            metrics.DELIVERIES.labels(type(delivery).__name__).inc()
            if isinstance(delivery, RetryAfter):
                metrics.TOO_MANY.inc()
                log.warning("Telegram asked to wait %.0f s (429); pausing all sending", delivery.seconds)
                self.limiter.pause(delivery.seconds)
            # Recorded before the chat's next message starts: a crash leaves in doubt at most one
            # message of a chat, the one whose request had started (docs/reliability.md).
            await self._records.submit((message, delivery))
            return delivery

        async def chain(messages: list[Claimed]) -> None:
            """A chat's messages one after another; after one that did not go (a retry, a
            blocked chat), the rest go back to wait behind it."""
            self._busy.add(messages[0].chat_id)
            try:
                async with self._gate:
                    for position, message in enumerate(messages):
                        if not isinstance(await one(message), Delivered):
                            if rest := [m.id for m in messages[position + 1 :]]:
                                await self.database.run(self._release, rest)
                            break
            finally:
                self._busy.discard(messages[0].chat_id)

        everything = asyncio.gather(*(chain(messages) for messages in chains.values()))
        if bulk_to_start and self._claim_ahead:
            started = asyncio.ensure_future(all_bulk_started.wait())
            either: list[asyncio.Future[Any]] = [everything, started]
            try:
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # as awaiting the round itself would: it is cancelled too
                everything.cancel()
                raise
            finally:
                started.cancel()
            if not everything.done():  # the next round may start; this one finishes meanwhile
                self._tails.add(everything)
                everything.add_done_callback(self._tail_done)
                return len(claimed)
        await everything
        if len(self._last_sent) > 50_000:
            horizon = self.ticker.monotonic() - self.chat_gap
            self._last_sent = {chat: at for chat, at in self._last_sent.items() if at > horizon}
        return len(claimed)

    async def _claimed(self) -> list[Claimed]:
        """This round's messages: those claimed ahead, if any, else claimed now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and (claimed := await ahead):
            return claimed
        return await self._claim_now()

    async def _claim_now(self) -> list[Claimed]:
        """Claim what is due, but for the chats with a message being sent. Only as many bulk
        messages as the rate lets go soon: a round waits for all of its sends, and one waiting
        for the rate would hold up the replies claimed with it."""
        return await self.database.run(self._claim, self.limiter.allowance(BULK_AHEAD), frozenset(self._busy))

    def _tail_done(self, round_: asyncio.Future[list[None]]) -> None:
        self._tails.discard(round_)
        self._wake.set()  # its chats' next messages may go now
        if not round_.cancelled() and (error := round_.exception()) is not None:
            log.error("the outbox sender failed in a round: %s", type(error).__name__, exc_info=error)

    async def _pace(self, chat_id: int) -> None:
        """At most one broadcast message a second per chat, counting whatever was sent just before."""
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = last + self.chat_gap - self.ticker.monotonic()
            if wait > 0:
                await self.ticker.sleep(wait)

    async def drain(self, seconds: float = 30.0) -> None:
        """Send until nothing is due (for the terminal chat and tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if not await self.send_due():
                wait = self.limiter.until_allowed(BULK_AHEAD)
                if wait <= 0:
                    return  # nothing was due
                await self.ticker.sleep(wait)  # bulk messages may be waiting for the rate

    def _claim(self, bulk: int, busy: frozenset[int]) -> list[Claimed]:
        with self.database.transaction() as session:
            now = self.clock.now()
            return outbox.claim_due(session, now, limit=self.batch, per_chat=CHAIN, bulk=bulk, skip=busy)

    def _release(self, message_ids: list[int]) -> None:
        with self.database.transaction() as session:
            outbox.release(session, message_ids, self.clock.now())

    async def _deliver(self, message: Claimed) -> Delivery:
        try:
            return await self.transport.deliver(message.chat_id, message.payload)
        except Exception as error:  # a bug or an unexpected library error: retry later
            log.exception("sending outbox message %d failed unexpectedly", message.id)
            return Transient(type(error).__name__)

    def _record_one(self, session: Session, sent: tuple[Claimed, Delivery]) -> None:
        message, delivery = sent
        self._record(session, message, delivery)
        if forgets(message.payload):  # erasure's last words: the row goes once it is done with
            outbox.forget_done(session, [message.id])

    def _record(self, session: Session, message: Claimed, delivery: Delivery) -> None:
        now = self.clock.now()
        if isinstance(delivery, Delivered):
            outbox.mark_sent(session, message.id, delivery.message_id, now)
        elif isinstance(delivery, RetryAfter):
            at = now + timedelta(seconds=delivery.seconds)
            outbox.retry_at(session, message.id, at, "429 retry after", count_attempt=False)
        elif isinstance(delivery, Transient):
            if now - message.created_at > GIVE_UP_AFTER:
                log.error("outbox message %d given up after %s: %s", message.id, GIVE_UP_AFTER, delivery.reason)
                outbox.mark_failed(session, message.id, delivery.reason)
            else:
                wait = backoff(message.attempts)
                log.warning("outbox message %d: %s; retrying in %.0f s", message.id, delivery.reason, wait)
                outbox.retry_at(session, message.id, now + timedelta(seconds=wait), delivery.reason)
        elif isinstance(delivery, Blocked):
            count = outbox.mark_unreachable(session, message.chat_id, now)
            log.warning(
                "chat of outbox message %d is unreachable (%s); %d messages held",
                message.id,
                delivery.reason,
                count,
            )
        elif isinstance(delivery, TopicGone) and self.on_topic_gone is not None:
            log.warning("outbox message %d: its topic was deleted; making it again", message.id)
            self.on_topic_gone(session, message, now)
        elif isinstance(delivery, Rejected | TopicGone):
            log.error("outbox message %d rejected by Telegram: %s", message.id, delivery.reason)
            outbox.mark_failed(session, message.id, delivery.reason)

    def next_due(self) -> datetime | None:
        with self.database.transaction() as session:
            return outbox.next_due(session)
