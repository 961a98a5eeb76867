"""The outbox sender against a scripted delivery channel: order, 429, retries, blocked chats."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.sender import RateLimiter, Sender, backoff
from bot.transport import Blocked, Delivered, Delivery, Rejected, RetryAfter, Transient
from clock import ManualClock
from clock.ticker import VirtualTicker
from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage, Patient
from storage.outbox import Priority
from storage.payloads import Message, Payload
from tests.support import migrated


class ScriptedTelegram:
    """Delivers everything, except what the test scripted to fail, in the order given."""

    def __init__(self) -> None:
        self.delivered: dict[int, list[str]] = defaultdict(list)
        self.script: dict[str, list[Delivery]] = defaultdict(list)
        self.tries: list[str] = []

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        text = getattr(payload, "text", "")
        self.tries.append(text)
        if self.script[text]:
            return self.script[text].pop(0)
        self.delivered[chat_id].append(text)
        return Delivered(len(self.tries))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = migrated(database_url)
    yield database
    database.dispose()


def queue(database: Database, clock: ManualClock, chat_id: int, *texts: str) -> None:
    with database.transaction() as session:
        for text in texts:
            outbox.enqueue(session, chat_id, Message(text), clock.now())


def statuses(database: Database) -> dict[str, str]:
    with database.transaction() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return {r.payload["text"]: r.status for r in rows}


async def test_messages_arrive_in_order_in_each_chat(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    queue(database, clock, 1, "a1", "a2", "a3")
    queue(database, clock, 2, "b1", "b2")
    await Sender(database, telegram, clock, rate=1000).drain()
    assert telegram.delivered == {1: ["a1", "a2", "a3"], 2: ["b1", "b2"]}
    assert set(statuses(database).values()) == {"sent"}


async def test_a_chats_few_messages_go_in_one_round_and_wait_behind_one_that_failed(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    queue(database, clock, 1, "a1", "a2", "a3")
    queue(database, clock, 2, "b1", "b2")
    sender = Sender(database, telegram, clock, rate=1000)
    assert await sender.send_due() == 5, "a lesson step's messages need no round each"
    assert telegram.delivered == {1: ["a1", "a2", "a3"], 2: ["b1", "b2"]}

    queue(database, clock, 1, "c1", "c2", "c3")
    telegram.script["c2"] = [Transient("502 Bad Gateway")]
    await sender.send_due()
    assert telegram.delivered[1][3:] == ["c1"], "nothing after a message that did not go"
    assert statuses(database)["c3"] == "pending", "back in the queue, behind it"
    await sender.drain()
    assert telegram.delivered[1][3:] == ["c1"], "still behind its retry"
    clock.advance(timedelta(seconds=5))
    await sender.drain()
    assert telegram.delivered[1][3:] == ["c1", "c2", "c3"]


async def test_429_waits_retry_after_and_then_sends_in_order(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    telegram.script["a1"] = [RetryAfter(0.2)]
    queue(database, clock, 1, "a1", "a2")
    sender = Sender(database, telegram, clock, rate=1000)
    await sender.drain()
    assert telegram.delivered[1] == [], "nothing goes to the chat before retry_after has passed"
    assert sender.limiter.paused_until > 0
    clock.advance(timedelta(seconds=1))
    await sender.drain()
    assert telegram.delivered[1] == ["a1", "a2"]


async def test_server_errors_are_retried_with_backoff(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    telegram.script["a1"] = [Transient("502 Bad Gateway"), Transient("timeout")]
    queue(database, clock, 1, "a1", "a2")
    sender = Sender(database, telegram, clock, rate=1000)
    await sender.drain()
    assert statuses(database)["a1"] == "pending"
    clock.advance(timedelta(seconds=backoff(0)))
    await sender.drain()
    assert telegram.delivered[1] == []
    clock.advance(timedelta(seconds=backoff(1)))
    await sender.drain()
    assert telegram.delivered[1] == ["a1", "a2"]
    assert backoff(20) == 300


async def test_a_patient_who_blocked_the_bot_is_marked_unreachable_and_others_still_get_theirs(
    database: Database,
) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    with database.transaction() as session:
        session.add(Patient(telegram_user_id=1, chat_id=1, locale="en", timezone="UTC", status="active",
                            created_at=clock.now(), code="P-0001"))  # fmt: skip
    telegram.script["a1"] = [Blocked("Forbidden: bot was blocked by the user")]
    queue(database, clock, 1, "a1", "a2")
    queue(database, clock, 2, "b1", "b2")
    await Sender(database, telegram, clock, rate=1000).drain()
    assert telegram.delivered == {2: ["b1", "b2"]}
    assert statuses(database) == {"a1": "blocked", "a2": "blocked", "b1": "sent", "b2": "sent"}
    with database.transaction() as session:
        patient = session.exec(select(Patient)).one()
        assert patient.unreachable_at == clock.now()


async def test_a_request_telegram_refuses_is_set_aside_and_the_chat_goes_on(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    telegram.script["bad"] = [Rejected("Bad Request: can't parse entities")]
    queue(database, clock, 1, "bad", "good")
    await Sender(database, telegram, clock, rate=1000).drain()
    assert telegram.delivered[1] == ["good"]
    assert statuses(database)["bad"] == "failed"


async def test_transient_failures_are_given_up_after_a_day(database: Database) -> None:
    clock, telegram = ManualClock(), ScriptedTelegram()
    telegram.script["old"] = [Transient("503")] * 3
    queue(database, clock, 1, "old")
    sender = Sender(database, telegram, clock, rate=1000)
    clock.advance(timedelta(hours=25))
    await sender.drain()
    assert statuses(database)["old"] == "failed"


async def test_replies_and_alerts_never_wait_for_the_bulk_rate_but_use_it_up() -> None:
    ticker = RecordingTicker()
    limiter = RateLimiter(rate=2, burst=1, ticker=ticker)
    for _ in range(5):
        await limiter.spend()  # replies to patients and risk alerts
    assert ticker.slept == [], "a reply never waits for the bucket"
    assert limiter.tokens < 0, "but it is counted, so bulk sending makes room for it"
    await limiter.acquire()  # a broadcast message waits until the replies' share is paid back
    assert sum(ticker.slept) >= 1.5, "the three tokens the replies owe, at two a second"


async def test_bulk_sending_stays_under_the_ceiling_in_every_second_and_near_it_overall() -> None:
    """Telegram counts sends over a second, and a 429 stops all sending: the bucket's burst must
    not take a second's sends over the ceiling (a broadcast at 300/s once lost 40% to 429 pauses)."""
    ticker = RecordingTicker()
    for rate in (25.0, 300.0):
        limiter = RateLimiter(rate=rate, ticker=ticker)
        times: list[float] = []
        for _ in range(int(rate * 5)):
            await limiter.acquire()
            times.append(ticker.monotonic())
        busiest = max(bisect_right(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))
        assert busiest <= rate * 0.98 + 1e-9, f"{busiest} sends in one second at {rate}/s"
        assert (len(times) - 1) / (times[-1] - times[0]) >= rate * 0.93, "and the ceiling is used"


class RecordingTicker(VirtualTicker):
    """Controlled time that remembers every wait."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)


async def test_a_round_of_replies_to_many_patients_is_not_held_to_the_bulk_rate(database: Database) -> None:
    clock, telegram, ticker = ManualClock(), ScriptedTelegram(), RecordingTicker()
    for chat in range(1, 6):
        queue(database, clock, chat, f"reply to {chat}")
    sender = Sender(database, telegram, clock, rate=1.0, ticker=ticker)
    assert await sender.send_due() == 5
    assert ticker.slept == [], "no reply waited for the rate limiter"
    assert sorted(telegram.delivered) == [1, 2, 3, 4, 5]


async def test_a_round_claims_only_the_bulk_messages_the_rate_lets_go_soon(database: Database) -> None:
    """A round waits for all its sends: bulk messages beyond the rate would hold up the replies."""
    clock, telegram, ticker = ManualClock(), ScriptedTelegram(), RecordingTicker()
    with database.transaction() as session:
        for chat in range(1, 11):
            outbox.enqueue(session, chat, Message(f"reminder {chat}"), clock.now(), priority=Priority.SCHEDULED)
        outbox.enqueue(session, 99, Message("reply"), clock.now())
    sender = Sender(database, telegram, clock, rate=4.0, ticker=ticker)
    allowed = sender.limiter.allowance(0.25)
    assert 1 <= allowed < 10
    assert await sender.send_due() == 1 + allowed
    assert telegram.delivered[99] == ["reply"]
    # The reply took one token of its own, beyond the bulk allowance.
    waited_at_most = 0.25 + 1 / sender.limiter.rate
    assert sum(ticker.slept) <= waited_at_most + 1e-9, "the round waited no longer than it may for the rate"
    await sender.drain()
    assert sorted(chat for chat, texts in telegram.delivered.items() if texts) == [*range(1, 11), 99]
    assert all(status == "sent" for status in statuses(database).values()), "the rest followed at the rate"
    assert ticker.now >= 9 / 4.0 * 0.9, "at no more than the rate"


class HangingTelegram(ScriptedTelegram):
    """Delivers as ScriptedTelegram does, but never answers for `hang_on`: the process dies then."""

    def __init__(self, hang_on: str) -> None:
        super().__init__()
        self.hang_on = hang_on
        self.hanging = asyncio.Event()

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        if getattr(payload, "text", "") == self.hang_on:
            self.tries.append(self.hang_on)
            self.hanging.set()
            await asyncio.Event().wait()
        return await super().deliver(chat_id, payload)


@pytest.mark.parametrize("priority", [Priority.INTERACTIVE, Priority.BROADCAST])
async def test_a_crash_mid_round_leaves_in_doubt_only_the_message_whose_request_had_started(
    database: Database, priority: Priority
) -> None:
    clock = ManualClock()
    with database.transaction() as session:
        for chat in range(1, 6):
            for n in (1, 2):
                outbox.enqueue(session, chat, Message(f"c{chat}-{n}"), clock.now(), priority=priority)
    telegram = HangingTelegram("c2-1")
    dying = Sender(database, telegram, clock, rate=1000, concurrency=1)
    round_ = asyncio.create_task(dying.send_due())
    await asyncio.wait_for(telegram.hanging.wait(), timeout=10)
    round_.cancel()  # the process dies: c1-1 was sent, c2-1 in flight, c3-1 .. c5-1 claimed and waiting
    # (a conversation's c1-2 .. c5-2 too, each after its chat's first: c1-2 was sent)
    with suppress(asyncio.CancelledError):
        await round_
    assert statuses(database)["c1-1"] == "sent", "each delivery is recorded as soon as it is made"
    if priority == Priority.INTERACTIVE:
        assert statuses(database)["c1-2"] == "sent", "a conversation's messages of a chat go together"
    broadcast = priority == Priority.BROADCAST
    # A broadcast's message is `sending` only once its request starts; any other is from its claim,
    # as it is sent again after a crash either way.
    assert statuses(database)["c3-1"] == ("claimed" if broadcast else "sending")

    with database.transaction() as session:
        again, doubtful = outbox.recover_in_flight(session, clock.now())
    if broadcast:
        assert (again, doubtful) == (0, 1), "only the message whose request had started is in doubt"
    else:
        # A chat's two messages are claimed together (sender.CHAIN): chats 2 to 5 have both in flight.
        assert (again, doubtful) == (8, 0), "nothing is in doubt: the round's messages go again, in order"
    after = ScriptedTelegram()
    await Sender(database, after, clock, rate=1000).drain()
    if priority == Priority.BROADCAST:
        assert statuses(database)["c2-1"] == "in_doubt", "a broadcast is not sent twice"
        assert after.delivered[2] == ["c2-2"]
    else:
        assert after.delivered[2] == ["c2-1", "c2-2"], "a conversation message is sent again, in its place"
    for chat in (3, 4, 5):
        assert after.delivered[chat] == [f"c{chat}-1", f"c{chat}-2"], "claimed but never asked: sent once, in order"
    assert telegram.tries.count("c3-1") == 0


async def test_a_row_that_forgets_is_deleted_once_done_with_and_kept_while_it_waits(database: Database) -> None:
    """Erasure's last words (storage/payloads.py: forget): sent, or refused for good, the row goes;
    waiting for a retry, it stays; an ordinary row stays in every case."""
    clock, telegram = ManualClock(), ScriptedTelegram()
    telegram.script["refused"] = [Rejected("not enough rights")]
    telegram.script["later"] = [Transient("502")]
    with database.transaction() as session:
        for chat, text in ((1, "goodbye"), (2, "refused"), (3, "later")):
            outbox.enqueue(session, chat, Message(text, forget=True), clock.now())
        outbox.enqueue(session, 4, Message("kept"), clock.now())
    await Sender(database, telegram, clock, rate=1000).drain()
    assert telegram.delivered == {1: ["goodbye"], 4: ["kept"]}
    assert statuses(database) == {"later": "pending", "kept": "sent"}
    clock.advance(timedelta(seconds=5))
    await Sender(database, telegram, clock, rate=1000).drain()
    assert telegram.delivered[3] == ["later"]
    assert statuses(database) == {"kept": "sent"}


class SlowTelegram(ScriptedTelegram):
    """Takes a moment over each request, and notes how many are in flight, per chat and in all."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: dict[int, int] = defaultdict(int)
        self.most_per_chat = 0
        self.most = 0

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        self.in_flight[chat_id] += 1
        self.most_per_chat = max(self.most_per_chat, self.in_flight[chat_id])
        self.most = max(self.most, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(0.002)
            return await super().deliver(chat_id, payload)
        finally:
            self.in_flight[chat_id] -= 1


async def test_while_running_rounds_overlap_but_a_chat_has_one_message_in_flight(database: Database) -> None:
    """The next round starts while the last one's requests finish: it skips their chats."""
    clock, telegram = ManualClock(), SlowTelegram()
    with database.transaction() as session:
        for chat in range(1, 41):
            outbox.enqueue(session, chat, Message(f"news {chat}"), clock.now(), priority=Priority.BROADCAST)
    sender = Sender(database, telegram, clock, rate=400.0, concurrency=8, chat_gap=0.0)
    running = asyncio.create_task(sender.run())
    try:
        for _ in range(3):  # replies to some of those chats, while the news goes out
            await asyncio.sleep(0.02)
            with database.transaction() as session:
                for chat in range(1, 41, 7):
                    outbox.enqueue(session, chat, Message(f"reply {chat} {_}"), clock.now())
            sender.wake()
        for _ in range(500):
            if all(status == "sent" for status in statuses(database).values()):
                break
            await asyncio.sleep(0.01)
    finally:
        sender.stop()
        await asyncio.wait_for(running, timeout=10)
    assert all(status == "sent" for status in statuses(database).values())
    assert telegram.most_per_chat == 1, "never two requests at once to one chat"
    assert telegram.most <= 8, "the rounds share one gate"
    for chat, texts in telegram.delivered.items():
        assert sorted(texts) == sorted(set(texts)), f"chat {chat}: nothing sent twice"
        replies = [t for t in texts if t.startswith("reply")]
        assert replies == sorted(replies, key=lambda t: int(t.rsplit(" ", 1)[1])), "replies in order"


async def test_a_sender_stopped_puts_back_what_it_had_claimed_ahead(database: Database) -> None:
    clock, telegram = ManualClock(), SlowTelegram()
    with database.transaction() as session:
        for chat in range(1, 201):
            outbox.enqueue(session, chat, Message(f"news {chat}"), clock.now(), priority=Priority.BROADCAST)
    sender = Sender(database, telegram, clock, rate=100.0, chat_gap=0.0)
    running = asyncio.create_task(sender.run())
    for _ in range(500):
        if sum(len(texts) for texts in telegram.delivered.values()) >= 40:
            break
        await asyncio.sleep(0.01)
    sender.stop()
    await asyncio.wait_for(running, timeout=10)
    left = set(statuses(database).values())
    assert left <= {"sent", "pending"}, "nothing is left claimed or in flight by a sender that stopped"
    assert "pending" in left
