"""The guides' desk: a patient's messages into their topic in the staff chat and the guides'
replies back, tickets until a guide marks them answered, check-ins, clinical notes and roles.

Everything here writes to the outbox in the same transaction as the change it reports, like the
coach does for patients. What guides read lives in `content/<locale>/ui.yaml` (`staff_*`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from clock import Clock
from clock.office_hours import OfficeHours, add_working_time
from content.render import plain, render, split_for_telegram
from content.schema import Content
from storage import inbox, outbox, staff, tickets, topics
from storage.alerts import audit
from storage.database import Database
from storage.models import Alert, Patient, Ticket
from storage.outbox import Claimed, Priority
from storage.patients import load_state, patient_by_code
from storage.staff import ADMIN, COORDINATOR, GUIDE, ROLES
from storage.topics import TO_GUIDES, TO_PATIENT

log = logging.getLogger(__name__)

DONE = "done:"  # button data of "Mark answered": done:<ticket id>
OPEN_MARK, ANSWERED_MARK = "🔴", "🟢"
CODE = re.compile(r"^P-\d{1,9}$", re.IGNORECASE)
MAX_NOTE = 4000
MAX_MINUTES = 600

# Who may use what. An admin may use everything.
COMMAND_ROLES: dict[str, tuple[str, ...]] = {
    "staff": (ADMIN,),
    "queue": (GUIDE, COORDINATOR),
    "report": (COORDINATOR,),
    "patient": (GUIDE,),
    "checkin": (GUIDE,),
    "note": (GUIDE,),
    "done": (GUIDE,),
}
ROLE_NAMES = {ADMIN: "admins", COORDINATOR: "coordinators", GUIDE: "guides"}
USAGE = {
    "staff": "/staff · /staff add ID ROLE (admin, coordinator or guide) · /staff remove ID",
    "patient": "/patient P-0042 (or /patient in their topic)",
    "checkin": "/checkin P-0042 phone 15 (phone, message, video or in_person; minutes)",
    "note": "/note P-0042 what you want to note",
    "done": "/done in the patient's topic, or /done P-0042",
}
Lines = Callable[[Session, int], list[str]]


def no_lines(_session: Session, _patient_id: int) -> list[str]:
    return []


@dataclass(frozen=True)
class StaffPost:
    """A message in the staff chat, as plain data: who wrote it, where, and what."""

    user_id: int
    first_name: str
    message_id: int
    thread_id: int | None = None  # the forum topic it was written in (None: the main thread)
    reply_to: int | None = None  # the message it answers (not the topic's own first message)
    html: str | None = None  # its text (or caption) as Telegram HTML
    media: bool = False  # a photo, voice note, file...: relayed with copyMessage
    reply_to_bot: bool = False  # the message it answers is the coach's


def waited(since: datetime, now: datetime) -> str:
    """How long, for people: "45 min", "3 h 20 min", "2 d 4 h"."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def topic_name(code: str, is_open: bool) -> str:
    return f"{code} {OPEN_MARK if is_open else ANSWERED_MARK}"


class GuideDesk:
    def __init__(
        self,
        database: Database,
        content: Content,
        clock: Clock,
        *,
        staff_chat_id: int,
        hours: OfficeHours,
        answer_within: timedelta,
        names_visible: bool = False,
        scores: Lines = no_lines,
        flags: Lines = no_lines,
    ) -> None:
        self.database = database
        self.content = content
        self.clock = clock
        self.staff_chat_id = staff_chat_id
        self.hours = hours
        self.answer_within = answer_within
        self.names_visible = names_visible
        self.scores = scores  # the latest questionnaire results, as lines (storage.results.score_lines)
        self.flags = flags  # stepped-care flags not yet reviewed (storage.results.open_flags)
        self.forum = False  # whether the staff chat has topics; found out at start-up

    # -- helpers --------------------------------------------------------------------------

    def ui(self, key: str, **context: Any) -> str:
        return render(self.content.for_locale(None).ui[key], context)

    def answer_by(self, since: datetime) -> datetime:
        """When a message waiting since `since` should be answered: working time in office hours."""
        return add_working_time(self.hours, since, self.answer_within)

    def _to_staff(
        self,
        session: Session,
        text: str,
        *,
        patient: Patient | None = None,
        thread_id: int | None = None,
        buttons: list[list[str]] | None = None,
        priority: Priority = Priority.INTERACTIVE,
        card: bool = False,
    ) -> int:
        """A message for the guides: into `patient`'s topic when the chat has topics. Returns the last row."""
        row_id = 0
        parts = split_for_telegram(text)
        for index, part in enumerate(parts):
            payload: dict[str, Any] = {"text": part, "buttons": buttons if index == len(parts) - 1 else []}
            if patient is not None and self.forum:
                payload["topic_of"] = patient.id
            elif thread_id is not None:
                payload["thread_id"] = thread_id
            if card:
                payload["card"] = True
            row = outbox.enqueue(
                session,
                chat_id=self.staff_chat_id,
                kind="message",
                payload=payload,
                now=self.clock.now(),
                priority=priority,
                patient_id=patient.id if patient else None,
            )
            session.flush()
            row_id = row.id or 0
        return row_id

    def _to_patient(self, session: Session, patient: Patient, kind: str, payload: dict[str, Any]) -> int:
        row = outbox.enqueue(
            session, chat_id=patient.chat_id, kind=kind, payload=payload, now=self.clock.now(), patient_id=patient.id
        )
        session.flush()
        assert row.id is not None
        return row.id

    def _patient_day(self, patient: Patient, moment: datetime) -> str:
        zone = ZoneInfo(patient.timezone)
        local, today = moment.astimezone(zone), self.clock.now().astimezone(zone).date()
        if local.date() == today:
            day = "today"
        elif local.date() == today + timedelta(days=1):
            day = "tomorrow"
        else:
            day = f"{local:%A} {local.day} {local:%B}"
        return f"{day} at {local:%H:%M}"

    # -- topics ---------------------------------------------------------------------------

    def ensure_topic(self, session: Session, patient: Patient) -> None:
        """The patient's topic, created when first needed (forum staff chats only)."""
        if self.forum and patient.id is not None and topics.topic_of(session, patient.id) is None:
            self._make_topic(session, patient)

    def _make_topic(self, session: Session, patient: Patient) -> None:
        assert patient.id is not None
        now = self.clock.now()
        name = topic_name(patient.code or "?", tickets.open_ticket(session, patient.id) is not None)
        row = outbox.enqueue(
            session,
            chat_id=self.staff_chat_id,
            kind="topic",
            payload={"name": name},
            now=now,
            priority=Priority.URGENT,  # before anything meant for the topic, urgent alerts included
            patient_id=patient.id,
        )
        session.flush()
        assert row.id is not None
        topics.save_topic(session, patient.id, self.staff_chat_id, row.id, name, now)
        self._to_staff(session, self.card(session, patient), patient=patient, priority=Priority.URGENT, card=True)

    def _mark_topic(self, session: Session, patient: Patient) -> None:
        """Show in the topic's name whether someone is waiting for an answer."""
        assert patient.id is not None
        topic = topics.topic_of(session, patient.id)
        if topic is None:
            return
        name = topic_name(patient.code or "?", tickets.open_ticket(session, patient.id) is not None)
        if topic.name == name:
            return
        topic.name = name
        session.add(topic)
        outbox.enqueue(
            session,
            chat_id=self.staff_chat_id,
            kind="topic_edit",
            payload={"topic_of": patient.id, "name": name},
            now=self.clock.now(),
            patient_id=patient.id,
        )

    def topic_gone(self, session: Session, message: Claimed, now: datetime) -> None:
        """Staff deleted a patient's topic: make it again, with the card, and send the message there."""
        patient_id = message.payload.get("topic_of")
        patient = session.get(Patient, patient_id) if patient_id is not None else None
        if patient is None or patient.id is None:
            outbox.mark_failed(session, message.id, "message thread not found")
            return
        topic = topics.topic_of(session, patient.id)
        if topic is not None and topics.thread_of(session, topic) == message.payload.get("thread_id"):
            self._make_topic(session, patient)
            audit(session, now, "coach", "topic_recreated", patient.id)
            log.warning("the topic of %s was deleted; making it again", patient.code)
        if message.payload.get("card") or message.kind == "topic_edit":
            outbox.mark_cancelled(session, message.id)  # the new topic has its own card and name
        else:
            outbox.retry_at(session, message.id, now, "topic deleted; made again", count_attempt=False)

    def card(self, session: Session, patient: Patient) -> str:
        assert patient.id is not None
        state, _ = load_state(session, patient)
        reached = self._lesson_reached(state.lessons_done, state.lesson_place.flow if state.lesson_place else None)
        return self.ui(
            "staff_card",
            code=patient.code,
            status=patient.status,
            started=self._date(patient.consented_at),
            lesson=reached,
            scores=self.scores(session, patient.id),
            flags=self.flags(session, patient.id),
        )

    def _lesson_reached(self, done: tuple[int, ...], in_progress: str | None) -> str:
        flows = self.content.for_locale(None).flows
        current = flows.get(in_progress or "")
        if current is not None and current.number:
            return f"{current.number} ({current.title}), in progress"
        if done:
            lesson = self.content.for_locale(None).lesson(max(done))
            return f"{max(done)} ({lesson.title if lesson else '?'}), done"
        return "not started"

    def _date(self, moment: datetime | None) -> str:
        if moment is None:
            return "not yet (still enrolling)"
        local = moment.astimezone(ZoneInfo(self.hours.zone))
        return f"{local:%Y-%m-%d}"

    # -- from the patient (inside the coach's transaction) --------------------------------

    def relay_from_patient(self, session: Session, patient: Patient, message_ids: tuple[int, ...]) -> None:
        """Copy the patient's messages to their guide and tell the patient when to expect an answer."""
        assert patient.id is not None
        now = self.clock.now()
        ticket, fresh = tickets.patient_wrote(session, patient.id, now)
        self.ensure_topic(session, patient)
        self._mark_topic(session, patient)
        done = [[plain(self.ui("staff_mark_answered")), f"{DONE}{ticket.id}"]]
        if not self.forum:
            header = self._to_staff(session, self.ui("staff_relay_header", code=patient.code), patient=patient)
            topics.record_relay(
                session, patient_id=patient.id, direction=TO_GUIDES, source_chat_id=patient.chat_id,
                source_message_id=message_ids[0], copy_row=header, now=now, composed=True, ticket_id=ticket.id,
            )  # fmt: skip
        for message_id in message_ids:
            payload: dict[str, Any] = {"from_chat_id": patient.chat_id, "message_id": message_id, "buttons": done}
            if self.forum:
                payload["topic_of"] = patient.id
            row = outbox.enqueue(
                session, chat_id=self.staff_chat_id, kind="copy", payload=payload, now=now, patient_id=patient.id
            )
            session.flush()
            assert row.id is not None
            topics.record_relay(
                session, patient_id=patient.id, direction=TO_GUIDES, source_chat_id=patient.chat_id,
                source_message_id=message_id, copy_row=row.id, now=now, ticket_id=ticket.id,
            )  # fmt: skip
        answer_by = self.answer_by(ticket.waiting_since or now)
        self._to_patient(
            session,
            patient,
            "message",
            {"text": self.ui("guide_sent", answer_by=self._patient_day(patient, answer_by)), "buttons": []},
        )
        audit(
            session, now, "coach", "relayed_to_guides", patient.id,
            messages=len(message_ids), ticket_id=ticket.id, ticket_opened=fresh,
        )  # fmt: skip
        log.info("%d message(s) from %s relayed to the guides", len(message_ids), patient.code)

    def notify_about(
        self, session: Session, patient: Patient, text: str, buttons: list[list[str]] | None = None
    ) -> None:
        """A message for the guides about one patient (NotifyStaff, a stepped-care flag): into their topic."""
        self.ensure_topic(session, patient)
        self._to_staff(session, text, patient=patient, buttons=buttons)

    def alert_in_topic(self, session: Session, patient: Patient, alert: Alert) -> None:
        """An urgent alert stays in the main thread (with Acknowledge), where everyone on shift
        sees it; the patient's topic gets a note, so their story reads whole."""
        if not self.forum:
            return
        self.ensure_topic(session, patient)
        note = self.ui("staff_alert_in_topic", code=patient.code, level=alert.level, reason=alert.reason)
        self._to_staff(session, note, patient=patient, priority=Priority.URGENT)

    def mirror_patient_edit(self, user_id: int, message_id: int, html: str, caption: bool) -> int:
        """The patient edited a message they sent their guide: edit the guides' copy. Returns how many."""
        now = self.clock.now()
        with self.database.transaction() as session:
            patient = _patient_of_user(session, user_id)
            if patient is None or patient.id is None:
                return 0
            count = 0
            for relayed in topics.copies_of(session, patient.chat_id, message_id):
                if relayed.direction != TO_GUIDES or relayed.composed:
                    continue
                ticket = session.get(Ticket, relayed.ticket_id) if relayed.ticket_id else None
                buttons = (
                    [[plain(self.ui("staff_mark_answered")), f"{DONE}{ticket.id}"]]
                    if ticket is not None and ticket.answered_at is None
                    else []
                )
                outbox.enqueue(
                    session, chat_id=self.staff_chat_id, kind="edit", now=now, patient_id=patient.id,
                    payload={"message_ref": relayed.copy_row, "text": html, "buttons": buttons, "caption": caption},
                )  # fmt: skip
                count += 1
            if count:
                audit(session, now, "coach", "relayed_edit_mirrored", patient.id, copies=count)
            return count

    # -- from the guides (each its own transaction, once per update) ----------------------

    def _once(self, session: Session, update_id: int | None) -> bool:
        """Mark the update handled; False if it was handled before."""
        if update_id is None:
            return True
        if inbox.is_handled(session, update_id):
            return False
        inbox.mark_handled(session, update_id, self.clock.now())
        return True

    def _reply(self, session: Session, post: StaffPost, text: str) -> None:
        self._to_staff(session, text, thread_id=post.thread_id)

    def ignore(self, update_id: int) -> None:
        with self.database.transaction() as session:
            self._once(session, update_id)

    def staff_post(self, update_id: int | None, post: StaffPost) -> str:
        """A message in the staff chat: relayed to a patient when it is written in their topic or
        in reply to their message; anything else is the guides' own conversation."""
        now = self.clock.now()
        with self.database.transaction() as session:
            if not self._once(session, update_id):
                return "duplicate"
            patient = self._patient_of_post(session, post)
            if patient is None:
                if post.reply_to_bot and staff.has_role(session, post.user_id, GUIDE):
                    self._reply(session, post, self.ui("staff_reply_unknown"))  # rather than silence
                return "not for a patient"
            assert patient.id is not None
            if not staff.has_role(session, post.user_id, GUIDE):
                self._reply(session, post, self.ui("staff_reply_refused"))
                audit(session, now, f"staff:{post.user_id}", "staff_refused", patient.id, what="reply")
                return "refused"
            name = post.first_name if self.names_visible else ""
            if post.media:
                self._to_patient(
                    session, patient, "message", {"text": self.ui("guide_reply_media", name=name), "buttons": []}
                )
                row = self._to_patient(
                    session, patient, "copy", {"from_chat_id": self.staff_chat_id, "message_id": post.message_id}
                )
                composed = False
            else:
                parts = split_for_telegram(f"{self.ui('guide_reply', name=name)}\n{post.html or ''}")
                rows = [self._to_patient(session, patient, "message", {"text": part, "buttons": []}) for part in parts]
                row, composed = rows[0], True  # an edit rewrites the first part (Telegram allows 4096 a message)
            topics.record_relay(
                session, patient_id=patient.id, direction=TO_PATIENT, source_chat_id=self.staff_chat_id,
                source_message_id=post.message_id, copy_row=row, now=now, composed=composed,
            )  # fmt: skip
            tickets.guide_replied(session, patient.id)
            if patient.unreachable_at is not None:  # a reply that would never arrive: say so
                self._reply(session, post, self.ui("staff_patient_unreachable", code=patient.code))
            audit(session, now, f"staff:{post.user_id}", "guide_replied", patient.id, media=post.media)
            log.info("a guide answered %s", patient.code)
            return "relayed"

    def _patient_of_post(self, session: Session, post: StaffPost) -> Patient | None:
        if post.thread_id is not None:
            patient_id = topics.patient_for_thread(session, self.staff_chat_id, post.thread_id)
            if patient_id is not None:
                return session.get(Patient, patient_id)
        if post.reply_to is not None:
            relayed = topics.relayed_as(session, self.staff_chat_id, post.reply_to)
            if relayed is not None and relayed.direction == TO_GUIDES:
                return session.get(Patient, relayed.patient_id)
        return None

    def staff_edited(self, update_id: int | None, post: StaffPost) -> int:
        """A guide edited a reply: edit the patient's copy too. Returns how many copies."""
        now = self.clock.now()
        with self.database.transaction() as session:
            if not self._once(session, update_id):
                return 0
            count = 0
            for relayed in topics.copies_of(session, self.staff_chat_id, post.message_id):
                patient = session.get(Patient, relayed.patient_id)
                if relayed.direction != TO_PATIENT or patient is None:
                    continue
                name = post.first_name if self.names_visible else ""
                if relayed.composed:
                    text = split_for_telegram(f"{self.ui('guide_reply', name=name)}\n{post.html or ''}")[0]
                    payload: dict[str, Any] = {"message_ref": relayed.copy_row, "text": text, "buttons": []}
                else:
                    payload = {"message_ref": relayed.copy_row, "text": post.html or "", "caption": True, "buttons": []}
                outbox.enqueue(
                    session, chat_id=patient.chat_id, kind="edit", now=now, patient_id=patient.id, payload=payload
                )
                audit(session, now, f"staff:{post.user_id}", "guide_reply_edited", patient.id)
                count += 1
            return count

    def mark_answered(self, update_id: int | None, user_id: int, ticket_id: int) -> str:
        """The "Mark answered" button; returns the short answer to the tap."""
        with self.database.transaction() as session:
            self._once(session, update_id)
            ticket = session.get(Ticket, ticket_id)
            patient = session.get(Patient, ticket.patient_id) if ticket else None
            if ticket is None or patient is None:
                return plain(self.ui("staff_already_answered", code="?"))
            if not staff.has_role(session, user_id, GUIDE):
                audit(session, self.clock.now(), f"staff:{user_id}", "staff_refused", patient.id, what="done")
                return plain(self.ui("staff_refused", command="✅", roles=self._roles(COMMAND_ROLES["done"])))
            return plain(self._close(session, patient, ticket, user_id))

    def _close(self, session: Session, patient: Patient, ticket: Ticket | None, user_id: int) -> str:
        assert patient.id is not None
        now = self.clock.now()
        if ticket is None or not tickets.mark_answered(session, ticket, user_id, now):
            return self.ui("staff_already_answered", code=patient.code)
        self._mark_topic(session, patient)
        for relayed in topics.copies_in_ticket(session, ticket.id or 0):  # the Mark answered buttons go
            outbox.enqueue(
                session, chat_id=self.staff_chat_id, kind="markup", now=now, patient_id=patient.id,
                payload={"message_ref": relayed.copy_row, "buttons": []},
            )  # fmt: skip
        audit(session, now, f"staff:{user_id}", "ticket_answered", patient.id, ticket_id=ticket.id)
        return self.ui("staff_marked_answered", code=patient.code)

    # -- staff commands -------------------------------------------------------------------

    @staticmethod
    def _roles(roles: tuple[str, ...]) -> str:
        return " and ".join(ROLE_NAMES[r] for r in roles)

    def command(self, update_id: int | None, post: StaffPost, name: str, args: str) -> str:
        """A command in the staff chat; the answer goes to the same thread. Returns what happened."""
        now = self.clock.now()
        with self.database.transaction() as session:
            if not self._once(session, update_id):
                return "duplicate"
            roles = COMMAND_ROLES.get(name)
            if roles is None:
                return "not a staff command"
            actor = f"staff:{post.user_id}"
            if not staff.has_role(session, post.user_id, *roles):
                self._reply(session, post, self.ui("staff_refused", command="/" + name, roles=self._roles(roles)))
                audit(session, now, actor, "staff_refused", None, command=name)
                log.warning("staff command /%s refused to someone without the role", name)
                return "refused"
            handler = getattr(self, f"_cmd_{name}")
            reply: str = handler(session, post, args.split(), args, actor)
            self._reply(session, post, reply)
            return name

    def _usage(self, name: str) -> str:
        return self.ui("staff_usage", usage=USAGE[name])

    def _patient_arg(
        self, session: Session, post: StaffPost, words: list[str]
    ) -> tuple[Patient | None, list[str], str]:
        """The patient a command is about: a code first, or the topic it was typed in."""
        if words and CODE.match(words[0]):
            patient = patient_by_code(session, words[0])
            return patient, words[1:], "" if patient else self.ui("staff_no_patient", code=words[0].upper())
        patient = self._patient_of_post(session, post)
        return patient, words, ""

    def _cmd_staff(self, session: Session, post: StaffPost, words: list[str], _args: str, actor: str) -> str:
        now = self.clock.now()
        if not words:
            lines = [f"{m.telegram_user_id}: {m.role}" for m in staff.members(session)]
            audit(session, now, actor, "staff_listed", None)
            return self.ui("staff_list", members=lines)
        if words[0] == "add" and len(words) == 3 and words[1].isdigit() and words[2] in ROLES:
            user, role = int(words[1]), words[2]
            before = staff.set_role(session, user, role, post.user_id, now)
            audit(session, now, actor, "staff_added", None, user=user, role=role, before=before)
            return self.ui("staff_added", user=user, role=role)
        if words[0] == "remove" and len(words) == 2 and words[1].isdigit():
            user = int(words[1])
            if user == post.user_id:
                return self._usage("staff")  # an admin cannot lock themselves out
            removed = staff.remove(session, user)
            if removed is None:
                return self.ui("staff_not_member", user=user)
            audit(session, now, actor, "staff_removed", None, user=user, role=removed)
            return self.ui("staff_removed", user=user, role=removed)
        return self._usage("staff")

    def _cmd_queue(self, session: Session, _post: StaffPost, _words: list[str], _args: str, actor: str) -> str:
        now = self.clock.now()
        waiting: list[str] = []
        for ticket in tickets.open_tickets(session):
            patient = session.get(Patient, ticket.patient_id)
            code = patient.code if patient else "?"
            if ticket.waiting_since is not None:
                waiting.append(f"{code}: waiting {waited(ticket.waiting_since, now)}")
            else:
                waiting.append(f"{code}: answered, not yet marked done (open {waited(ticket.opened_at, now)})")
        checkins = [
            f"{patient.code}: no contact for {waited(since, now)}"
            for patient, since in tickets.due_checkins(session, now)
        ]
        audit(session, now, actor, "queue_viewed", None)
        return self.ui("staff_queue", tickets=waiting, checkins=checkins)

    def _cmd_report(self, session: Session, _post: StaffPost, _words: list[str], _args: str, actor: str) -> str:
        """Clinician time per patient, from the logged check-ins."""
        rows = tickets.clinician_time(session)
        lines = [f"{patient.code}: {minutes} min in {count} contact(s)" for patient, count, minutes in rows]
        total = sum(minutes for _, _, minutes in rows)
        audit(session, self.clock.now(), actor, "report_viewed", None)
        average = round(total / len(rows)) if rows else 0
        return self.ui("staff_report", patients=lines, total=total, average=average)

    def _cmd_checkin(self, session: Session, post: StaffPost, words: list[str], _args: str, actor: str) -> str:
        patient, rest, problem = self._patient_arg(session, post, words)
        if problem:
            return problem
        if patient is None or patient.id is None or len(rest) != 2 or rest[0] not in tickets.CONTACT_KINDS:
            return self._usage("checkin")
        if not rest[1].isdigit() or not 1 <= int(rest[1]) <= MAX_MINUTES:
            return self._usage("checkin")
        now, kind, minutes = self.clock.now(), rest[0], int(rest[1])
        tickets.log_contact(session, patient.id, post.user_id, kind, minutes, now)
        session.flush()
        audit(session, now, actor, "checkin_logged", patient.id, kind=kind, minutes=minutes)
        total = tickets.clinician_minutes(session, patient.id)
        return self.ui("staff_checkin_logged", code=patient.code, kind=kind, minutes=minutes, total=total)

    def _cmd_note(self, session: Session, post: StaffPost, words: list[str], args: str, actor: str) -> str:
        patient, rest, problem = self._patient_arg(session, post, words)
        if problem:
            return problem
        text = args.strip()
        if words and CODE.match(words[0]):
            text = text[len(words[0]) :].strip()
        if patient is None or patient.id is None or not rest or not text:
            return self._usage("note")
        note = tickets.add_note(session, patient.id, post.user_id, text[:MAX_NOTE], self.clock.now())
        audit(session, self.clock.now(), actor, "note_added", patient.id, note_id=note.id, length=len(text))
        return self.ui("staff_note_saved", code=patient.code)

    def _cmd_done(self, session: Session, post: StaffPost, words: list[str], _args: str, actor: str) -> str:
        patient, _rest, problem = self._patient_arg(session, post, words)
        if problem:
            return problem
        if patient is None or patient.id is None:
            return self._usage("done")
        return self._close(session, patient, tickets.open_ticket(session, patient.id), post.user_id)

    def _cmd_patient(self, session: Session, post: StaffPost, words: list[str], _args: str, actor: str) -> str:
        patient, _rest, problem = self._patient_arg(session, post, words)
        if problem:
            return problem
        if patient is None or patient.id is None:
            return self._usage("patient")
        now = self.clock.now()
        state, _ = load_state(session, patient)
        flows = self.content.for_locale(None).flows
        place = state.lesson_place
        current = flows.get(place.flow) if place else None
        in_progress = f"lesson {current.number} ({current.title}), at {place.step}" if current and place else "none"
        ticket = tickets.open_ticket(session, patient.id)
        if ticket is None:
            ticket_line = "none"
        elif ticket.waiting_since is not None:
            ticket_line = f"waiting {waited(ticket.waiting_since, now)}"
        else:
            ticket_line = "answered, not yet marked done"
        contact = tickets.last_contact(session, patient.id)
        last = f"{contact.kind}, {contact.minutes} min, {waited(contact.at, now)} ago" if contact else "none yet"
        notes = [f"{self._date(n.created_at)}: {n.text}" for n in tickets.recent_notes(session, patient.id)]
        audit(session, now, actor, "patient_viewed", patient.id)
        return self.ui(
            "staff_patient",
            code=patient.code,
            status=patient.status + (" (unreachable: blocked the coach)" if patient.unreachable_at else ""),
            started=self._date(patient.consented_at),
            lessons_done=", ".join(str(n) for n in state.lessons_done) or "none",
            in_progress=in_progress,
            scores=self.scores(session, patient.id),
            flags=self.flags(session, patient.id),
            ticket=ticket_line,
            last_contact=last,
            minutes=tickets.clinician_minutes(session, patient.id),
            notes=notes,
        )

    # -- the scheduler ----------------------------------------------------------------------

    def raise_overdue(self) -> int:
        """Raise again, in the staff chat's main thread, each patient left waiting past the answer time."""
        now = self.clock.now()
        with self.database.transaction() as session:
            due = tickets.overdue(session, now, self.answer_by)
            for ticket in due:
                tickets.mark_raised(session, ticket, now)
                patient = session.get(Patient, ticket.patient_id)
                if patient is None or ticket.waiting_since is None:
                    continue
                text = self.ui(
                    "staff_overdue",
                    code=patient.code,
                    waited=waited(ticket.waiting_since, now),
                    count=ticket.raised_count,
                )
                self._to_staff(session, text)
                audit(
                    session,
                    now,
                    "coach",
                    "ticket_raised_again",
                    patient.id,
                    ticket_id=ticket.id,
                    count=ticket.raised_count,
                )
            return len(due)

    # -- start-up -------------------------------------------------------------------------

    def seed_admins(self, admin_ids: tuple[int, ...]) -> None:
        with self.database.transaction() as session:
            for user_id in staff.ensure_admins(session, admin_ids, self.clock.now()):
                audit(
                    session,
                    self.clock.now(),
                    "coach",
                    "staff_added",
                    None,
                    user=user_id,
                    role=ADMIN,
                    source="ADMIN_IDS",
                )


def _patient_of_user(session: Session, telegram_user_id: int) -> Patient | None:
    return session.exec(select(Patient).where(Patient.telegram_user_id == telegram_user_id)).first()
