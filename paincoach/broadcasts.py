"""Broadcasts by coordinators: a draft with a preview, a confirmation, then every recipient's
message written to the outbox in one transaction when its time comes, and progress reported.

A broadcast's recipients are chosen and its messages rendered when it starts, all at once: a
restart part-way through finds them in the outbox and sends only what is left. Its messages go
at the lowest priority, so nothing a patient is waiting for (least of all a safety message)
queues behind a broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from clock import Clock
from content.render import render, split_for_telegram, visible_length
from content.schema import Content
from dialogs.audience import Audience, Recipient, parse_audience, personal, selects
from dialogs.due import lesson_numbers, quiet_ends
from dialogs.state import Status
from storage import outbox
from storage.database import Database
from storage.models import Broadcast, DialogState, OutboxMessage, Patient
from storage.outbox import Priority

FINISHED = ("sent", "blocked", "failed", "in_doubt", "cancelled")
PROGRESS_STEP = 0.1  # report progress every tenth of the way


class BroadcastError(ValueError):
    """A broadcast that cannot be sent as written; the message says why, for the coordinator."""


@dataclass(frozen=True)
class Draft:
    id: int
    audience: str
    recipients: int
    preview: str  # the text as the first recipient will read it
    send_at: datetime
    quiet_hours: bool


@dataclass(frozen=True)
class Progress:
    id: int
    status: str
    total: int
    sent: int
    blocked: int
    failed: int
    in_doubt: int  # in flight when the sender stopped: not sent again, so nobody gets it twice
    waiting: int

    @property
    def finished(self) -> int:
        return self.total - self.waiting


def group_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


class BroadcastDesk:
    def __init__(self, database: Database, content: Content, clock: Clock, *, staff_chat_id: int | None) -> None:
        self.database = database
        self.content = content
        self.clock = clock
        self.staff_chat_id = staff_chat_id

    # -- drafting ---------------------------------------------------------------------------

    def draft(
        self,
        *,
        created_by: int,
        audience: str,
        text: str,
        send_at: datetime | None = None,
        quiet_hours: bool = False,
        report_chat_id: int | None = None,
    ) -> Draft:
        """Check and store a broadcast, not yet confirmed; raises BroadcastError with the reason."""
        chosen = parse_audience(audience)
        if chosen is None:
            raise BroadcastError(
                f"unknown audience {audience!r}: use everyone, arm:<name>, lesson:<n> or inactive:<days>"
            )
        if not text.strip():
            raise BroadcastError("the message is empty")
        now = self.clock.now()
        when = send_at or now
        with self.database.transaction() as session:
            recipients = self._recipients(session, chosen, when)
            sample = recipients[0] if recipients else Recipient(0, 0, "P-0000", "UTC", None, 1, None)
            preview = self._render(text, sample)
            row = Broadcast(
                created_by=created_by,
                audience=str(chosen),
                text=text,
                send_at=when,
                quiet_hours=quiet_hours,
                status="draft",
                report_chat_id=report_chat_id if report_chat_id is not None else self.staff_chat_id,
                total=len(recipients),
                created_at=now,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return Draft(row.id, str(chosen), len(recipients), preview, when, quiet_hours)

    def confirm(self, broadcast_id: int) -> bool:
        """Send it (now, or at its time); False if it was not a draft any more."""
        return self._move(broadcast_id, "draft", "scheduled")

    def cancel(self, broadcast_id: int) -> bool:
        return self._move(broadcast_id, "draft", "cancelled") or self._move(broadcast_id, "scheduled", "cancelled")

    def _move(self, broadcast_id: int, from_status: str, to_status: str) -> bool:
        with self.database.transaction() as session:
            result = session.execute(
                update(Broadcast)
                .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == from_status)
                .values(status=to_status)
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def _render(self, text: str, recipient: Recipient) -> str:
        try:
            rendered = render(text, personal(recipient))
        except TemplateError as error:
            raise BroadcastError(f"the message template has a mistake: {error}") from None
        if not rendered:
            raise BroadcastError("the message is empty once personalised")
        if visible_length(rendered) > 4096:
            raise BroadcastError("the message is longer than Telegram's 4096 characters")
        return rendered

    def _recipients(self, session: Session, audience: Audience, now: datetime) -> list[Recipient]:
        """Patients taking part who can be reached, chosen by `audience`, in enrolment order."""
        numbers = lesson_numbers(self.content)
        rows = session.exec(
            select(Patient, DialogState.data)
            .join(DialogState, col(DialogState.patient_id) == col(Patient.id))
            .where(
                col(Patient.status) == Status.ACTIVE.value,
                col(Patient.consented_at).is_not(None),
                col(Patient.unreachable_at).is_(None),
            )
            .order_by(col(Patient.id))
        ).all()
        chosen: list[Recipient] = []
        for patient, data in rows:
            place = (data or {}).get("lesson_place") or {}
            done = [int(n) for n in (data or {}).get("lessons_done", ())]
            reached = max([numbers.get(str(place.get("flow", "")), 0), *done, 0])
            recipient = Recipient(
                patient.id or 0,
                patient.chat_id,
                patient.code or "",
                patient.timezone,
                patient.arm,
                reached,
                patient.last_seen_at,
            )
            if selects(audience, recipient, now):
                chosen.append(recipient)
        return chosen

    # -- sending (the scheduler's broadcast sweep) -----------------------------------------

    def start_due(self) -> int:
        """Start every confirmed broadcast whose time has come: each recipient's message is written
        to the outbox, all in the one transaction that marks the broadcast as sending."""
        now = self.clock.now()
        started = 0
        with self.database.transaction() as session:
            due = session.exec(
                select(Broadcast).where(col(Broadcast.status) == "scheduled", col(Broadcast.send_at) <= now)
            ).all()
            for broadcast in due:
                assert broadcast.id is not None
                audience = parse_audience(broadcast.audience)
                assert audience is not None
                recipients = self._recipients(session, audience, now)
                rows = [self._row(broadcast, r, now) for r in recipients]
                if rows:
                    session.execute(insert(OutboxMessage), rows)
                broadcast.status, broadcast.total, broadcast.started_at = "sending", len(rows), now
                session.add(broadcast)
                self._tell(session, broadcast, "staff_broadcast_started", self._counts(session, broadcast))
                started += 1
        return started

    def _row(self, broadcast: Broadcast, recipient: Recipient, now: datetime) -> dict[str, Any]:
        text = split_for_telegram(render(broadcast.text, personal(recipient)))[0]
        not_before = (
            quiet_ends(now, recipient.timezone, self.content.program.schedule) if broadcast.quiet_hours else now
        )
        return {
            "patient_id": recipient.patient_id,
            "chat_id": recipient.chat_id,
            "kind": "message",
            "payload": {"text": text, "buttons": [], "typing": False},
            "priority": int(Priority.BROADCAST),
            "status": "pending",
            "attempts": 0,
            "not_before": not_before,
            "created_at": now,
            "cue_group": group_of(broadcast.id or 0),
        }

    def report_progress(self) -> int:
        """Tell the coordinator how far each broadcast has got (every tenth), and the summary at the end."""
        now = self.clock.now()
        told = 0
        with self.database.transaction() as session:
            sending = session.exec(select(Broadcast).where(col(Broadcast.status) == "sending")).all()
            for broadcast in sending:
                progress = self._counts(session, broadcast)
                if progress.waiting == 0:
                    broadcast.status, broadcast.finished_at, broadcast.reported = "done", now, progress.total
                    session.add(broadcast)
                    self._tell(session, broadcast, "staff_broadcast_done", progress)
                    told += 1
                elif progress.finished - broadcast.reported >= max(1, int(progress.total * PROGRESS_STEP)):
                    broadcast.reported = progress.finished
                    session.add(broadcast)
                    self._tell(session, broadcast, "staff_broadcast_progress", progress)
                    told += 1
        return told

    def progress(self, broadcast_id: int) -> Progress | None:
        with self.database.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            return None if broadcast is None else self._counts(session, broadcast)

    def _counts(self, session: Session, broadcast: Broadcast) -> Progress:
        counts = dict(
            session.exec(
                select(OutboxMessage.status, func.count())
                .where(col(OutboxMessage.cue_group) == group_of(broadcast.id or 0))
                .group_by(col(OutboxMessage.status))
            ).all()
        )
        waiting = sum(n for status, n in counts.items() if status not in FINISHED)
        failed = counts.get("failed", 0) + counts.get("cancelled", 0)
        total = sum(counts.values()) if broadcast.status != "scheduled" else broadcast.total
        return Progress(
            broadcast.id or 0,
            broadcast.status,
            total,
            counts.get("sent", 0),
            counts.get("blocked", 0),
            failed,
            counts.get("in_doubt", 0),
            waiting,
        )

    def _tell(self, session: Session, broadcast: Broadcast, key: str, progress: Progress) -> None:
        if broadcast.report_chat_id is None:
            return
        text = render(
            self.content.for_locale(None).ui[key],
            {
                "id": progress.id,
                "audience": broadcast.audience,
                "total": progress.total,
                "sent": progress.sent,
                "blocked": progress.blocked,
                "failed": progress.failed,
                "in_doubt": progress.in_doubt,
                "waiting": progress.waiting,
            },
        )
        outbox.enqueue(
            session,
            chat_id=broadcast.report_chat_id,
            kind="message",
            now=self.clock.now(),
            priority=Priority.INTERACTIVE,
            payload={"text": text, "buttons": []},
        )
