"""Broadcasts: audiences and personalisation, /broadcast in the staff chat with a preview and a
confirmation, and 10,000 recipients delivered through the real scheduler process against a fake Bot
API that answers 429 whenever its rate is exceeded, also when that process is SIGKILLed half-way."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlmodel import col, func, select

from bot.sender import Sender
from bot.transport import TelegramApi
from clock import ManualClock, SystemClock
from clock.ticker import VirtualTicker
from coach.broadcasts import BroadcastDesk, BroadcastError
from content.schema import Content
from sandbox.botapi import FakeTelegram
from scheduler.service import SchedulerService, holder_name
from storage.database import Database
from storage.models import Broadcast, DialogState, OutboxMessage, Patient
from storage.outbox import Priority
from tests.e2e import STAFF_CHAT, adapter_for, running_coach, settings_for, settle
from tests.support import make_database, make_services
from tests.test_e2e import onboard

COORDINATOR = 4100
FIRST_PATIENT = 10_000_000


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def enrol(database: Database, count: int, now: datetime, **overrides: object) -> None:
    """`count` patients taking part, as the coach would have stored them, in one go."""
    with database.transaction() as session:
        first = session.exec(select(func.count()).select_from(Patient)).one() + 1
        patients = [
            {
                "id": first + n,
                "code": f"P-{first + n:05d}",
                "telegram_user_id": FIRST_PATIENT + first + n,
                "chat_id": FIRST_PATIENT + first + n,
                "locale": "en",
                "timezone": "Europe/London",
                "status": "active",
                "consented_at": now - timedelta(days=10),
                "created_at": now - timedelta(days=10),
                **overrides,
            }
            for n in range(count)
        ]
        session.execute(insert(Patient), patients)
        session.execute(
            insert(DialogState),
            [
                {"patient_id": p["id"], "flow": "menu", "step": "main", "version": 1, "updated_at": now,
                 "data": {"lessons_done": [1], "lesson_place": {"flow": "lesson-2", "step": "intro"}}}
                for p in patients
            ],
        )  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = make_database(tmp_path)
    yield database
    database.dispose()


def test_an_audience_chooses_who_gets_it_and_each_message_is_personal(database: Database, content: Content) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    enrol(database, 3, clock.now(), arm="coach")
    enrol(database, 2, clock.now(), arm="waitlist", last_seen_at=clock.now() - timedelta(days=1))
    enrol(database, 1, clock.now(), status="stopped")
    enrol(database, 1, clock.now(), unreachable_at=clock.now())
    desk = BroadcastDesk(database, content, clock, staff_chat_id=STAFF_CHAT)

    assert desk.draft(created_by=1, audience="everyone", text="Hi").recipients == 5, "not stopped, not blocked"
    assert desk.draft(created_by=1, audience="arm:waitlist", text="Hi").recipients == 2
    assert desk.draft(created_by=1, audience="lesson:2", text="Hi").recipients == 5
    assert desk.draft(created_by=1, audience="lesson:3", text="Hi").recipients == 0
    assert desk.draft(created_by=1, audience="inactive:7", text="Hi").recipients == 3, "never seen counts as inactive"
    draft = desk.draft(
        created_by=1, audience="arm:coach", text="Hello {{ code }}, you reached lesson {{ lesson_reached }} <b>&</b>"
    )
    assert draft.preview == "Hello P-00001, you reached lesson 2 <b>&</b>", "as the first of them will read it"

    for bad, why in (
        ("{{ name }}", "mistake"),
        ("{{ ''.__class__.__mro__ }}", "mistake"),
        ("   ", "empty"),
        ("x" * 5000, "4096"),
    ):
        with pytest.raises(BroadcastError, match=why):
            desk.draft(created_by=1, audience="everyone", text=bad)
    with pytest.raises(BroadcastError, match="unknown audience"):
        desk.draft(created_by=1, audience="the keen ones", text="Hi")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("I <3 you all & see", "a bare <"),
        ("<div>hi</div>", "<div>"),
        ("<b>hi", "never closed"),
    ],
)
def test_a_broadcast_telegram_would_refuse_is_stopped_at_the_preview(
    database: Database, content: Content, text: str, why: str
) -> None:
    desk = BroadcastDesk(database, content, ManualClock(), staff_chat_id=STAFF_CHAT)
    with pytest.raises(BroadcastError, match="Telegram would refuse it") as refused:
        desk.draft(created_by=1, audience="everyone", text=text)
    assert why in str(refused.value)
    assert desk.draft(created_by=1, audience="everyone", text="I &lt;3 you all &amp; see <b>soon</b>").preview


def test_a_broadcast_starts_at_its_time_and_can_wait_for_quiet_hours(database: Database, content: Content) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # 20:00 in London, 07:00 in Sydney
    enrol(database, 1, clock.now())
    enrol(database, 1, clock.now(), timezone="Australia/Sydney")
    desk = BroadcastDesk(database, content, clock, staff_chat_id=STAFF_CHAT)
    later = desk.draft(created_by=1, audience="everyone", text="Later", send_at=clock.now() + timedelta(hours=1),
                       quiet_hours=True)  # fmt: skip
    unconfirmed = desk.draft(created_by=1, audience="everyone", text="Never confirmed")
    assert desk.confirm(later.id)
    assert not desk.confirm(later.id), "a second confirmation changes nothing"
    assert desk.start_due() == 0, "not yet"
    clock.advance(timedelta(hours=1))  # 21:00 in London (quiet), 08:00 in Sydney (not quiet)
    assert desk.start_due() == 1
    assert desk.start_due() == 0, "started once"
    with database.transaction() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.cue_group == f"broadcast:{later.id}")).all()
        assert sorted(row.chat_id for row in rows) == [FIRST_PATIENT + 1, FIRST_PATIENT + 2]
        assert {row.priority for row in rows} == {int(Priority.BROADCAST)}
        by_chat = {row.chat_id: row.not_before for row in rows}
        assert by_chat[FIRST_PATIENT + 1] == datetime(2026, 3, 3, 8, 0, tzinfo=UTC), "London: at 08:00 local"
        assert by_chat[FIRST_PATIENT + 2] == clock.now(), "Sydney: now"
        assert session.get(Broadcast, unconfirmed.id).status == "draft"  # type: ignore[union-attr]


async def test_a_coordinator_broadcasts_from_the_staff_chat_after_a_preview(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=str(COORDINATOR))
    staff = telegram.group(STAFF_CHAT, "Guides")
    async with running_coach(settings) as coach:
        user = telegram.user(4242, "Anna")
        await onboard(user, telegram)
        await settle(telegram)

        staff.send_command(999, "/broadcast", "everyone")  # not a coordinator
        await staff.wait_for_text("Only coordinators")
        staff.send_command(COORDINATOR, "/broadcast")
        await staff.wait_for_text("write the audience")
        staff.send_text(COORDINATOR, "/broadcast everyone\nHello {{ code }}, a new resource is out.")
        preview = await staff.wait_for_text("Hello P-0001, a new resource is out.")
        assert "1 patient, now" in staff.messages[-2].text
        assert [label for row in preview.buttons for label, _ in row] == ["✅ Send to 1", "✖️ Cancel"]
        assert not [m for m in user.messages if "new resource" in m.text], "nothing goes before the confirmation"

        query = staff.press(999, "✅ Send to 1", message_id=preview.message_id)
        assert "Only coordinators" in (await telegram.wait_answered(query)).get("text", "")
        query = staff.press(COORDINATOR, "✅ Send to 1", message_id=preview.message_id)
        await telegram.wait_answered(query)
        await staff.wait_for_text("confirmed by")
        await coach.service.sweep_broadcasts()  # the scheduler's broadcast sweep (every 5 s)
        await user.wait_for_text("Hello P-0001, a new resource is out.")
        await settle(telegram)
        await coach.service.sweep_broadcasts()
        summary = await staff.wait_for_text("finished")
        assert "1 sent, 0 blocked the bot, 0 failed" in summary.text
        query = staff.press(COORDINATOR, "✅ Send to 1", message_id=preview.message_id)
        assert (await telegram.wait_answered(query)).get("text") == "Got it, that's already noted."
    assert sum("new resource" in m.text for m in user.messages) == 1


async def test_ten_thousand_recipients_each_get_the_broadcast_once_even_when_the_sender_dies_half_way(
    telegram: FakeTelegram, tmp_path: Path, content: Content
) -> None:
    """The fake Bot API holds the bot to 1000 messages a second (paid broadcasts) and one a second
    per chat, answering 429 with retry_after beyond that; 40 of the patients have blocked the bot.

    Half-way, the scheduler dies: its sender task is cancelled in the middle of a round, and
    nothing of its clean-up runs (no last record, no lease given up). That leaves the database
    exactly as a SIGKILL would: only committed transactions count, the round's claimed rows stay
    `sending` and their deliveries (some reached Telegram, some not) are unrecorded. A fresh
    scheduler on its own connection to the same database then takes over the lease (a dead holder
    on this machine is taken over at once) and sends what is left. This runs in one process so the
    test takes seconds, not the minute two aiogram start-ups would; tests/test_restart.py kills a
    real process."""
    recipients = 10_000
    database = make_database(tmp_path)
    clock = SystemClock()
    enrol(database, recipients, clock.now())
    chats = [FIRST_PATIENT + n for n in range(1, recipients + 1)]
    wanted = set(chats)
    for chat in chats:
        telegram.user(chat, "Pat").blocked = chat % 250 == 0
    staff = telegram.group(STAFF_CHAT, "Guides")
    # Telegram's flood control and the sender's rate limiter read one controlled clock, which moves
    # only when the sender waits: how many 429s there are does not depend on the machine's speed.
    ticker = VirtualTicker()
    telegram.rate_limit(per_chat_per_second=1, global_per_second=1000, clock=ticker.monotonic)

    def scheduler(db: Database, holder: str) -> tuple[SchedulerService, TelegramApi]:
        api = adapter_for(telegram)
        services = make_services(db, content, clock, staff_chat_id=STAFF_CHAT)
        sender = Sender(db, api, clock, rate=1000, poll_interval=0.05, ticker=ticker)
        return SchedulerService(services, sender, holder=holder), api

    # The first scheduler is named as a process of this machine that no longer exists by the time
    # the second looks (as after a crash), so the second may take over without waiting 20 s.
    first, first_bot = scheduler(database, f"{socket.gethostname()}:{2**22 + 12345}:first")
    draft = first.broadcasts.draft(created_by=COORDINATOR, audience="everyone", text="News for {{ code }}")  # type: ignore[union-attr]
    assert draft.recipients == recipients
    assert first.broadcasts.confirm(draft.id)  # type: ignore[union-attr]
    assert await first.renew()
    assert await first.sweep_broadcasts() == 1

    seen, sent = 0, 0

    def half_way() -> bool:  # counts only the calls made since it last looked
        nonlocal seen, sent
        calls = telegram.calls
        sent += sum(1 for call in calls[seen:] if call.ok and call.method == "sendMessage")
        seen = len(calls)
        return sent >= 3000

    await telegram.wait_for(half_way, timeout=300)  # python-telegram-bot, on a busy machine, takes its time
    assert first._sender_task is not None
    first._sender_task.cancel()  # dies mid-round
    with suppress(asyncio.CancelledError):
        await first._sender_task
    first.active = False  # a dead process renews nothing and runs no sweeps

    second_db = Database(database.url)
    second, second_bot = scheduler(second_db, holder_name())
    assert await second.renew(), "the dead holder's lease is taken over at once"
    for _ in range(600):  # the scheduler's broadcast sweep
        await second.sweep_broadcasts()
        progress = second.broadcasts.progress(draft.id)  # type: ignore[union-attr]
        if progress is not None and progress.status == "done":
            break
        await asyncio.sleep(1)
    summary = await staff.wait_for_text("finished", timeout=10)
    await second.close()
    await first_bot.close()
    await second_bot.close()
    second_db.dispose()

    counts = Counter(c.chat_id for c in telegram.calls_of("sendMessage") if c.ok and c.chat_id in wanted)
    assert max(counts.values()) == 1, "nobody got it twice"
    too_many = [c for c in telegram.calls_of("sendMessage") if c.error_code == 429]
    assert len(too_many) < recipients / 100, "the sender keeps to the rate; a 429 now and then is waited out"
    with database.transaction() as session:
        rows = session.exec(
            select(OutboxMessage.chat_id, OutboxMessage.status).where(
                col(OutboxMessage.cue_group) == f"broadcast:{draft.id}"
            )
        ).all()
    status = dict(rows)
    assert len(status) == recipients
    blocked = {chat for chat in chats if chat % 250 == 0}
    in_doubt = {chat for chat, s in status.items() if s == "in_doubt"}
    assert {chat for chat, s in status.items() if s == "blocked"} == blocked - in_doubt, "blocked patients are recorded"
    assert {chat for chat, s in status.items() if s == "sent"} == set(counts) - in_doubt
    assert len(in_doubt) <= 32, "at most the requests in flight when the sender died (its concurrency)"
    assert set(status.values()) <= {"sent", "blocked", "in_doubt"}
    assert set(chats) - set(counts) - blocked <= in_doubt, "everyone else got it, exactly once"
    delivered = sum(1 for s in status.values() if s == "sent")
    assert f"{delivered} sent, {len(blocked - in_doubt)} blocked the bot, 0 failed" in summary.text
    if in_doubt:
        assert f"{len(in_doubt)} not sure" in summary.text
    assert [m for m in staff.messages if "sent so far" in m.text], "progress was reported along the way"


def test_only_coordinators_and_admins_may_broadcast(tmp_path: Path) -> None:
    from dialogs.desk.roles import may
    from storage.staff import ensure_admins, role_of, set_role
    from tests.support import migrated

    database = migrated(f"sqlite:///{tmp_path / 'roles.db'}")
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with database.transaction() as session:
        ensure_admins(session, [1], now)
        set_role(session, 2, "coordinator", 1, now)
        set_role(session, 3, "guide", 1, now)

    def may_broadcast(user: int) -> bool:
        with database.transaction() as session:
            return may(role_of(session, user), "broadcast")

    assert [may_broadcast(user) for user in (1, 2, 3, 4)] == [True, True, False, False]
    database.dispose()
