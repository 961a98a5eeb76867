"""The outbox: messages waiting to be sent, claimed in order per chat, most urgent first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import Row, bindparam, case, delete, func, insert, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from content.render import split_for_telegram
from storage.models import OutboxMessage, Patient
from storage.payloads import Edit, EditButtons, Message, Payload, UnknownPayload, payload_from, to_json
from storage.topics import Thread, thread_for_patient

LEASE = timedelta(seconds=60)  # a claimed message not reported on by then is claimed again
SCAN = 500  # rows looked at per claim

# A row's way out: pending -> claimed (a broadcast's, picked for the sender's round, not yet asked
# of Telegram) -> sending (its request has started; any other message is `sending` from its claim)
# -> sent | pending again (a retry) | failed | blocked ...
# Only a `sending` row can have reached Telegram unrecorded when the process dies: a `claimed` one
# goes back to the queue after a crash as if nothing happened (no duplicate, nothing in doubt).
WAITING = ("pending", "claimed", "sending")  # not yet sent, and not given up on
IN_FLIGHT = ("claimed", "sending")


class Priority(IntEnum):
    """Lower goes first: risk alerts, then replies to the patient, then timed messages, then broadcasts."""

    URGENT = 0
    INTERACTIVE = 10
    SCHEDULED = 20
    BROADCAST = 30


# Built once, as Core statements on the table: these run for every message, and building a
# statement (or the ORM's unit of work) costs more than SQLite takes to run it.
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
_ENQUEUE = insert(_outbox).values(
    patient_id=bindparam("patient_id"),
    chat_id=bindparam("chat_id"),
    kind=bindparam("kind"),
    payload=bindparam("payload"),
    priority=bindparam("priority"),
    status="pending",
    attempts=0,
    not_before=bindparam("not_before"),
    created_at=bindparam("created_at"),
    cue_group=bindparam("cue_group"),
)
_BY_ID = _outbox.c.id == bindparam("message_id")
_MARK_SENDING = update(_outbox).where(_BY_ID).values(status="sending")
_MARK_SENT = (
    update(_outbox)
    .where(_BY_ID)
    .values(status="sent", sent_at=bindparam("now"), telegram_message_id=bindparam("telegram_id"), error=None)
)
_RETRY = update(_outbox).where(_BY_ID).values(status="pending", not_before=bindparam("at"), error=bindparam("error"))
_RETRY_COUNTED = _RETRY.values(attempts=_outbox.c.attempts + 1)
_MARK_FAILED = (
    update(_outbox).where(_BY_ID).values(status="failed", error=bindparam("error"), attempts=_outbox.c.attempts + 1)
)
_MARK_CANCELLED = update(_outbox).where(_BY_ID).values(status="cancelled")
_CLAIM = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=case((_outbox.c.priority >= int(Priority.BROADCAST), "claimed"), else_="sending"),
        not_before=bindparam("leased_until"),
    )
)
_RELEASE = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)), _outbox.c.status.in_(IN_FLIGHT))
    .values(status="pending", not_before=bindparam("now"))
)
_DETAILS = select_columns(
    _outbox.c.id, _outbox.c.payload, _outbox.c.patient_id, _outbox.c.kind, _outbox.c.attempts, _outbox.c.created_at
).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Claimed:
    """A row claimed for sending, with its payload ready for the transport (references filled in)."""

    id: int
    chat_id: int
    patient_id: int | None
    payload: Payload
    attempts: int
    created_at: datetime
    priority: int = Priority.INTERACTIVE

    @property
    def kind(self) -> str:
        return self.payload.kind


@dataclass(frozen=True)
class Queued:
    """One message for `enqueue_all`: many at once (a broadcast's recipients)."""

    chat_id: int
    payload: Payload
    priority: Priority = Priority.INTERACTIVE
    patient_id: int | None = None
    group: str | None = None
    not_before: datetime | None = None


def enqueue(
    session: Session,
    chat_id: int,
    payload: Payload,
    now: datetime,
    *,
    priority: Priority = Priority.INTERACTIVE,
    patient_id: int | None = None,
    group: str | None = None,
    not_before: datetime | None = None,
) -> list[int]:
    """Queue something for Telegram, to go as soon as its turn comes, or not before `not_before`.

    The one way every part of the coach queues a message, in the transaction of the change it
    reports. A text longer than Telegram allows becomes several messages, in order, with the
    buttons on the last; an edit keeps the first part (a message holds 4096 characters). Returns
    the rows' ids, in order.
    """
    ids: list[int] = []
    for part in _parts(payload):
        values = {
            "patient_id": patient_id,
            "chat_id": chat_id,
            "kind": part.kind,
            "payload": to_json(part),
            "priority": int(priority),
            "not_before": not_before or now,
            "created_at": now,
            "cue_group": group,
        }
        ids.append(int(session.execute(_ENQUEUE, values).inserted_primary_key[0]))  # type: ignore[attr-defined]
    return ids


def enqueue_all(session: Session, messages: Sequence[Queued], now: datetime) -> int:
    """Queue many messages in one statement (a broadcast); returns how many rows."""
    rows = [
        {
            "patient_id": m.patient_id,
            "chat_id": m.chat_id,
            "kind": part.kind,
            "payload": to_json(part),
            "priority": int(m.priority),
            "status": "pending",
            "attempts": 0,
            "not_before": m.not_before or now,
            "created_at": now,
            "cue_group": m.group,
        }
        for m in messages
        for part in _parts(m.payload)
    ]
    if rows:
        session.execute(insert(OutboxMessage), rows)
    return len(rows)


def _parts(payload: Payload) -> list[Payload]:
    if isinstance(payload, Message):
        texts = split_for_telegram(payload.text)
        last = len(texts) - 1
        return [
            replace(payload, text=text, buttons=payload.buttons if i == last else ()) for i, text in enumerate(texts)
        ]
    if isinstance(payload, Edit):
        return [replace(payload, text=split_for_telegram(payload.text)[0])]
    return [payload]


def claim_due(
    session: Session,
    now: datetime,
    limit: int,
    per_chat: int = 1,
    bulk: int | None = None,
    skip: Collection[int] = (),
) -> list[Claimed]:
    """Claim the first waiting messages of each chat whose turn has come, in the order to send them.

    A chat's first message is the one with the lowest (priority, id) still to be sent; while it
    is in flight or waiting to be retried, nothing else is sent to that chat, so messages
    arrive in order. Up to `per_chat` of a chat's messages are claimed together when they are
    due, waiting for nothing, and not broadcasts (a lesson step's few messages, sent one after
    another); a chain stops before a message that waits (for its time, its topic, or a message
    it edits). At most `bulk` messages of priority SCHEDULED or lower (timed messages and
    broadcasts, which go at the bulk rate) are claimed, if given; a chat whose next message is
    one of those beyond it waits, in order. The chats in `skip` (a message of theirs is being sent
    already) wait for their turn. Messages timed for later wait for their time without
    holding anyone up.
    A message for a patient's topic in the staff chat waits while that topic is being created,
    without holding up the rest of the staff chat.
    """
    rows = session.execute(
        select_columns(
            col(OutboxMessage.id),
            col(OutboxMessage.chat_id),
            col(OutboxMessage.not_before),
            col(OutboxMessage.status),
            col(OutboxMessage.priority),
        )
        .where(
            col(OutboxMessage.status).in_(WAITING),
            # Messages timed for later (a reminder, a breathing cue) neither block nor fill the scan;
            # in-flight ones and retries do block their chat, to keep its messages in order.
            or_(
                col(OutboxMessage.not_before) <= now,
                col(OutboxMessage.status).in_(IN_FLIGHT),
                col(OutboxMessage.attempts) > 0,
                col(OutboxMessage.error).is_not(None),
            ),
        )
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
        .limit(SCAN)
    ).all()
    closed: set[int] = set(skip)  # chats with nothing more to claim this time
    taken: dict[int, int] = {}  # chat -> how many of its messages are claimed so far
    chosen: dict[int, tuple[Row[Any], dict[str, Any]]] = {}  # id -> its scan row, the payload to send
    cancelled: list[int] = []
    # A row's payload (sealed) and the rest of what a claim needs, read only for rows looked at,
    # not for the whole scan.
    details: dict[int, Row[Any]] = {}

    def payload_of(position: int) -> dict[str, Any]:
        queued_id = rows[position][0]
        if queued_id not in details:  # this row and the rows after it that may be looked at, at once
            ahead: dict[int, int] = {}
            wanted = {queued_id}
            bulk_wanted = 0
            for later_id, later_chat, *_, later_priority in rows[position:]:
                if later_chat in closed or taken.get(later_chat, 0) + ahead.get(later_chat, 0) >= per_chat:
                    continue
                if later_priority >= Priority.SCHEDULED:  # no more than the bulk this claim may take
                    if bulk_wanted >= bulk_left + 8:
                        continue
                    bulk_wanted += 1
                ahead[later_chat] = ahead.get(later_chat, 0) + 1
                wanted.add(later_id)
                if len(wanted) >= limit - len(chosen) + 16:
                    break
            details.update((row[0], row) for row in session.execute(_DETAILS, {"ids": list(wanted)}))
        payload: dict[str, Any] = details[queued_id].payload
        return payload

    bulk_left = len(rows) if bulk is None else bulk
    for position, (queued_id, chat_id, not_before, status, *_, priority) in enumerate(rows):
        if chat_id in closed:
            continue
        if priority >= Priority.SCHEDULED and bulk_left <= 0:
            closed.add(chat_id)  # its turn comes when the rate allows
            continue
        chained = chat_id in taken  # after a message of its chat claimed just now
        if chained and (not_before > now or status != "pending" or priority >= Priority.BROADCAST):
            closed.add(chat_id)
            continue
        stored = payload_of(position)
        thread = _topic_thread(session, stored)
        if thread == "wait":
            if chained:
                closed.add(chat_id)
            continue  # its patient's topic is being created: that row goes first, and nothing else waits
        if not chained and not_before > now:  # in flight (leased), waiting for a retry, or timed for later
            closed.add(chat_id)
            continue
        assert queued_id is not None
        payload = dict(stored)
        if "message_ref" in payload:  # an edit of a message sent earlier from this outbox
            named = session.get(OutboxMessage, payload["message_ref"])
            if named is None or named.status in ("failed", "blocked", "cancelled"):
                cancelled.append(queued_id)
                if not chained:
                    closed.add(chat_id)
                continue
            if named.telegram_message_id is None:
                closed.add(chat_id)
                continue  # not sent yet: it goes first
            payload["message_id"] = named.telegram_message_id
        if "topic_of" in payload:
            payload["thread_id"] = thread
        chosen[queued_id] = (rows[position], payload)
        taken[chat_id] = taken.get(chat_id, 0) + 1
        if priority >= Priority.SCHEDULED:
            bulk_left -= 1
        if priority >= Priority.BROADCAST or taken[chat_id] >= per_chat:
            closed.add(chat_id)
        if len(chosen) >= limit:
            break
    if cancelled:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(cancelled)).values(status="cancelled"))
    if not chosen:
        return []
    # A broadcast's message is `claimed` until its request starts (the sender marks it `sending`
    # then): after a crash, only one whose request had started is in doubt, and it is not sent
    # twice. Any other message is sent again after a crash, whether its request had started or
    # not, so it goes to `sending` at once, and its send costs no transaction of its own.
    session.execute(_CLAIM, {"ids": list(chosen), "leased_until": now + LEASE})
    claimed: list[Claimed] = []
    for queued_id, (row, payload) in chosen.items():
        chat_id, priority = row.chat_id, row.priority
        detail = details[queued_id]
        patient_id, kind, attempts, created_at = detail.patient_id, detail.kind, detail.attempts, detail.created_at
        try:
            typed = payload_from(kind, payload)
        except UnknownPayload as error:
            mark_failed(session, queued_id, str(error))
            continue
        claimed.append(Claimed(queued_id, chat_id, patient_id, typed, attempts, created_at, priority))
    return claimed


def _topic_thread(session: Session, payload: dict[str, Any]) -> Thread:
    """For a row meant for a patient's topic: the topic's thread ("wait" while it is created)."""
    patient_id = payload.get("topic_of")
    return None if patient_id is None else thread_for_patient(session, int(patient_id))


def release(session: Session, message_ids: Sequence[int], now: datetime) -> None:
    """Claimed messages not sent after all (one before them in their chat did not go): back in
    the queue, as they were, behind it."""
    session.execute(_RELEASE, {"ids": list(message_ids), "now": now})


def mark_sending(session: Session, message_id: int) -> None:
    """Its request is about to start: from now on, a crash leaves it in doubt (recover_in_flight)."""
    session.execute(_MARK_SENDING, {"message_id": message_id})


def mark_sent(session: Session, message_id: int, telegram_message_id: int | None, now: datetime) -> None:
    session.execute(_MARK_SENT, {"message_id": message_id, "telegram_id": telegram_message_id, "now": now})


def retry_at(session: Session, message_id: int, at: datetime, error: str, *, count_attempt: bool = True) -> None:
    statement = _RETRY_COUNTED if count_attempt else _RETRY
    session.execute(statement, {"message_id": message_id, "at": at, "error": error[:200]})


def forget_done(session: Session, message_ids: Sequence[int]) -> int:
    """Delete rows that must leave nothing behind (`payloads.forgets`) once they are done with:
    sent, given up on, or held for a blocked chat; a row waiting for a retry stays. Returns how many."""
    if not message_ids:
        return 0
    result = session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.id).in_(list(message_ids)),
            col(OutboxMessage.status).not_in(("pending", "claimed", "sending")),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(session: Session, message_id: int, error: str) -> None:
    session.execute(_MARK_FAILED, {"message_id": message_id, "error": error[:200]})


def mark_cancelled(session: Session, message_id: int) -> None:
    session.execute(_MARK_CANCELLED, {"message_id": message_id})


def mark_unreachable(session: Session, chat_id: int, now: datetime) -> int:
    """The person blocked the bot: stop everything waiting for them; returns how many."""
    session.execute(
        update(Patient)
        .where(col(Patient.chat_id) == chat_id, col(Patient.unreachable_at).is_(None))
        .values(unreachable_at=now)
    )
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.chat_id) == chat_id, col(OutboxMessage.status).in_(WAITING))
        .values(status="blocked", error="blocked by the user")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def cancel_group(session: Session, group: str) -> int:
    """Cancel timed messages not yet sent (a breathing exercise the patient stopped)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.cue_group) == group, col(OutboxMessage.status) == "pending")
        .values(status="cancelled")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unsent_now(session: Session, now: datetime) -> int:
    """How many messages are in flight, or due and free to go now: not those timed for later,
    and not those held behind a message of their chat that is waiting to be retried."""
    backing_off = select(OutboxMessage.chat_id).where(
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.not_before) > now,
        or_(col(OutboxMessage.attempts) > 0, col(OutboxMessage.error).is_not(None)),
    )
    free = (
        (col(OutboxMessage.status) == "pending")
        & (col(OutboxMessage.not_before) <= now)
        & col(OutboxMessage.chat_id).not_in(backing_off)
    )
    count = select(func.count()).where(or_(col(OutboxMessage.status).in_(IN_FLIGHT), free))
    return int(session.exec(count).one())


# Built once: this runs for most taps (the question's buttons go once it is answered).
_LATEST_OF_GROUP = (
    select_columns(col(OutboxMessage.id), col(OutboxMessage.status), col(OutboxMessage.patient_id))
    .where(col(OutboxMessage.cue_group) == bindparam("group"))
    .order_by(col(OutboxMessage.id).desc())
    .limit(1)
)


def withdraw_latest(session: Session, chat_id: int, group: str, now: datetime) -> None:
    """The latest message of `group` is no longer the question: not sent yet, it never will be;
    sent, its buttons go (an edit of its markup)."""
    latest = session.execute(_LATEST_OF_GROUP, {"group": group}).first()
    if latest is None:
        return
    latest_id, status, patient_id = latest
    if status == "pending":
        mark_cancelled(session, latest_id)
    elif status in ("claimed", "sending", "sent"):
        enqueue(session, chat_id, EditButtons(message_ref=latest_id), now, patient_id=patient_id)


def next_due(session: Session) -> datetime | None:
    """When the earliest waiting message becomes due, to sleep until then."""
    row = session.exec(
        select(OutboxMessage.not_before)
        .where(col(OutboxMessage.status).in_(WAITING))
        .order_by(col(OutboxMessage.not_before))
        .limit(1)
    ).first()
    return row


def recover_in_flight(session: Session, now: datetime) -> tuple[int, int]:
    """After the sender before us died: messages it had claimed but not reported on.

    One it had claimed but not yet asked Telegram to send (`claimed`) simply goes back in the
    queue. For one whose request had started (`sending`: at most one per chat, as a chat has one
    message in flight at a time) whether Telegram got it cannot be known. A conversation message
    is sent again (at least once: a patient must not miss a step, so they may see it twice). A
    broadcast message is not (at most once: nobody gets a newsletter twice); it is counted
    `in_doubt` in the broadcast's summary. Returns (sent again, in doubt).
    """
    doubtful = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.priority) >= int(Priority.BROADCAST))
        .values(status="in_doubt", error="the sender stopped while sending this")
    )
    again = session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == "sending").values(status="pending", not_before=now)
    )
    session.execute(
        update(OutboxMessage).where(col(OutboxMessage.status) == "claimed").values(status="pending", not_before=now)
    )
    return int(again.rowcount), int(doubtful.rowcount)  # type: ignore[attr-defined]
