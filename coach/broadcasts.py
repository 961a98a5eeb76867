"""Broadcasts by coordinators: a draft with a preview, a confirmation, then every recipient's
message written to the outbox in one transaction when its time comes, and progress reported.

A broadcast's recipients are chosen and its messages rendered when it starts, all at once: a
restart part-way through finds them in the outbox and sends only what is left. Its messages go
at the lowest priority, so nothing a patient is waiting for (least of all a safety message)
queues behind a broadcast.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from jinja2 import TemplateError
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from clock import Clock
from coach.inbox import Inbox
from content import telegram_html
from content.calendar import staff_time
from content.render import plain, render, visible_length
from content.schema import Content
from dialogs.audience import Audience, Recipient, lesson_reached, parse_audience, personal, selects
from dialogs.desk.broadcast import parse_request
from dialogs.desk.roles import may
from dialogs.due import quiet_ends
from dialogs.state import Status
from storage import outbox, staff
from storage.alerts import audit
from storage.database import Database
from storage.models import Broadcast, DialogState, OutboxMessage, Patient
from storage.outbox import Priority, Queued
from storage.patients import state_of
from storage.payloads import Buttons, Message, Where

FINISHED = ("sent", "blocked", "failed", "in_doubt", "cancelled")
log = logging.getLogger(__name__)
PROGRESS_STEP = 0.1  # report progress every tenth of the way
SEND, CANCEL = "bc:send:", "bc:cancel:"  # the preview's buttons: bc:send:<id>, bc:cancel:<id>


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
    def __init__(
        self, database: Database, content: Content, clock: Clock, *, staff_chat_id: int | None,
        inbox: Inbox | None = None,
    ) -> None:  # fmt: skip
        self.database = database
        self.content = content
        self.clock = clock
        self.staff_chat_id = staff_chat_id
        self.inbox = inbox or Inbox(database, clock)

    def _ui(self, key: str, **context: object) -> str:
        return render(self.content.for_locale(None).ui[key], dict(context))

    def _problem(self, key: str, **context: object) -> str:
        """Why a broadcast cannot go, as plain text (the staff chat escapes it, the command line prints it)."""
        return plain(self._ui(key, **context))

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
        with self.database.transaction() as session:
            return self._draft(session, created_by, audience, text, send_at, quiet_hours, report_chat_id)

    def _draft(
        self, session: Session, created_by: int, audience: str, text: str, send_at: datetime | None,
        quiet_hours: bool, report_chat_id: int | None,
    ) -> Draft:  # fmt: skip
        chosen = parse_audience(audience)
        if chosen is None:
            raise BroadcastError(self._problem("broadcast_unknown_audience", audience=repr(audience)))
        if not text.strip():
            raise BroadcastError(self._problem("broadcast_empty"))
        now = self.clock.now()
        when = send_at or now
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
        with self.database.transaction() as session:
            return self._move(session, broadcast_id, "draft", "scheduled")

    def cancel(self, broadcast_id: int) -> bool:
        with self.database.transaction() as session:
            return self._move(session, broadcast_id, "draft", "cancelled") or self._move(
                session, broadcast_id, "scheduled", "cancelled"
            )

    @staticmethod
    def _move(session: Session, broadcast_id: int, from_status: str, to_status: str) -> bool:
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
            raise BroadcastError(self._problem("broadcast_template_mistake", mistake=str(error))) from None
        if not rendered:
            raise BroadcastError(self._problem("broadcast_empty_once_personalised"))
        if visible_length(rendered) > 4096:
            raise BroadcastError(self._problem("broadcast_too_long"))
        refused = telegram_html.problem(rendered)
        if refused is not None:  # Telegram would refuse it for every recipient
            raise BroadcastError(self._problem("broadcast_not_html", problem=refused))
        return rendered

    def _recipients(self, session: Session, audience: Audience, now: datetime) -> list[Recipient]:
        """Patients taking part who can be reached, chosen by `audience`, in enrolment order."""
        rows = session.exec(
            select(Patient, DialogState)
            .join(DialogState, col(DialogState.patient_id) == col(Patient.id))
            .where(
                col(Patient.status) == Status.ACTIVE.value,
                col(Patient.consented_at).is_not(None),
                col(Patient.unreachable_at).is_(None),
            )
            .order_by(col(Patient.id))
        ).all()
        chosen: list[Recipient] = []
        for patient, dialog in rows:
            reached = lesson_reached(state_of(patient, dialog), self.content)
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
                total = outbox.enqueue_all(session, [self._message(broadcast, r, now) for r in recipients], now)
                broadcast.status, broadcast.total, broadcast.started_at = "sending", total, now
                session.add(broadcast)
                self._tell(session, broadcast, "staff_broadcast_started", self._counts(session, broadcast))
                started += 1
        return started

    def _message(self, broadcast: Broadcast, recipient: Recipient, now: datetime) -> Queued:
        schedule = self.content.program.schedule
        not_before = quiet_ends(now, recipient.timezone, schedule) if broadcast.quiet_hours else now
        text = render(broadcast.text, personal(recipient))
        return Queued(recipient.chat_id, Message(text), Priority.BROADCAST, recipient.patient_id,
                      group_of(broadcast.id or 0), not_before)  # fmt: skip

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
        text = self._ui(
            key, id=progress.id, audience=broadcast.audience, total=progress.total, sent=progress.sent,
            blocked=progress.blocked, failed=progress.failed, in_doubt=progress.in_doubt, waiting=progress.waiting,
        )  # fmt: skip
        outbox.enqueue(session, broadcast.report_chat_id, Message(text), self.clock.now())

    # -- /broadcast in the staff chat ------------------------------------------------------

    def _post(self, session: Session, text: str, thread_id: int | None, buttons: Buttons = ()) -> None:
        assert self.staff_chat_id is not None
        message = Message(text, buttons, where=Where(thread_id=thread_id))
        outbox.enqueue(session, self.staff_chat_id, message, self.clock.now())

    def request(self, update_id: int | None, user_id: int, message_text: str, thread_id: int | None) -> str:
        """`/broadcast <audience> [at ...] [quiet]` and the message below: a preview with Send and
        Cancel, or a line saying what is wrong. Returns what happened."""

        def work(session: Session) -> str:
            if not may(staff.role_of(session, user_id), "broadcast"):
                self._post(session, self._ui("staff_broadcast_not_allowed"), thread_id)
                audit(session, self.clock.now(), f"staff:{user_id}", "staff_refused", None, command="broadcast")
                return "refused"
            request = parse_request(message_text)
            if request is None:
                self._post(session, self._ui("staff_broadcast_usage"), thread_id)
                return "usage"
            try:  # a draft that cannot be sent is refused before anything is written
                draft = self._draft(session, user_id, request.audience, request.text, request.send_at,
                                    request.quiet_hours, self.staff_chat_id)  # fmt: skip
            except BroadcastError as problem:
                self._post(session, self._ui("staff_broadcast_problem", problem=str(problem)), thread_id)
                return "problem"
            at = staff_time(self.content.for_locale(None).ui, draft.send_at) if request.send_at else ""
            header = self._ui("staff_broadcast_preview", id=draft.id, audience=draft.audience,
                              count=draft.recipients, at=at, quiet=draft.quiet_hours)  # fmt: skip
            buttons = (
                (plain(self._ui("staff_broadcast_send", count=draft.recipients)), f"{SEND}{draft.id}"),
                (plain(self._ui("staff_broadcast_cancel")), f"{CANCEL}{draft.id}"),
            )
            self._post(session, header, thread_id)
            self._post(session, draft.preview, thread_id, buttons)
            log.info("broadcast %d drafted for %d recipients", draft.id, draft.recipients)
            return "drafted"

        return self.inbox.once(update_id, work, "duplicate")

    def tap(self, update_id: int | None, user_id: int, name: str, data: str, thread_id: int | None) -> str | None:
        """Send or Cancel under a preview; returns the short answer to the tap (None: none)."""

        def work(session: Session) -> str | None:
            number = data.rpartition(":")[2]
            if not number.isdigit():
                return None
            if not may(staff.role_of(session, user_id), "broadcast"):
                audit(session, self.clock.now(), f"staff:{user_id}", "staff_refused", None, what="broadcast tap")
                return plain(self._ui("staff_broadcast_not_allowed"))
            broadcast_id = int(number)
            if data.startswith(SEND) and self._move(session, broadcast_id, "draft", "scheduled"):
                self._post(session, self._ui("staff_broadcast_confirmed", id=broadcast_id, by=name), thread_id)
                log.info("broadcast %d confirmed", broadcast_id)
                return None
            if data.startswith(CANCEL) and (
                self._move(session, broadcast_id, "draft", "cancelled")
                or self._move(session, broadcast_id, "scheduled", "cancelled")
            ):
                self._post(session, self._ui("staff_broadcast_cancelled", id=broadcast_id), thread_id)
                return None
            return plain(self._ui("already_noted"))

        duplicate: str | None = plain(self._ui("already_noted"))
        return self.inbox.once(update_id, work, duplicate)
