"""The guides' desk: a patient's messages into their topic in the staff chat and the guides'
replies back, tickets until a guide marks them answered, and the topics themselves.

The decisions (who may, what a ticket becomes, what the card says, topic names) are the pure
core's, in dialogs/desk/; this shell reads and writes the database and queues messages, always in
the transaction of the change they report. What guides read comes from `content/<locale>/ui.yaml`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from clock import Clock
from clock.office_hours import OfficeHours, add_working_time
from coach.inbox import Inbox
from content.calendar import long_date, waited
from content.render import plain, render
from content.schema import Content
from dialogs.actions import ShareEntry
from dialogs.desk import card as cards
from dialogs.desk import summary as summaries
from dialogs.desk.roles import ADMIN, MAY, may
from dialogs.desk.topics import topic_name
from storage import outbox, results, staff, tickets, topics
from storage.alerts import audit
from storage.database import Database
from storage.enrolment import contact_of
from storage.models import Alert, Patient, Ticket
from storage.outbox import Claimed, Priority
from storage.patients import load_state
from storage.payloads import Buttons, Copy, CreateTopic, Edit, EditButtons, Message, RenameTopic, Where
from storage.topics import TO_GUIDES, TO_PATIENT

log = logging.getLogger(__name__)

DONE = "done:"  # button data of "Mark answered": done:<ticket id>


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


class GuideDesk:
    def __init__(
        self,
        database: Database,
        content: Content,
        clock: Clock,
        inbox: Inbox,
        *,
        staff_chat_id: int,
        hours: OfficeHours,
        answer_within: timedelta,
        names_visible: bool = False,
    ) -> None:
        self.database = database
        self.content = content
        self.clock = clock
        self.inbox = inbox
        self.staff_chat_id = staff_chat_id
        self.hours = hours
        self.answer_within = answer_within
        self.names_visible = names_visible
        self.forum = False  # whether the staff chat has topics; found out at start-up

    # -- helpers --------------------------------------------------------------------------

    @property
    def texts(self) -> dict[str, str]:
        return self.content.for_locale(None).ui

    def ui(self, key: str, **context: Any) -> str:
        return render(self.texts[key], context)

    def answer_by(self, since: datetime) -> datetime:
        """When a message waiting since `since` should be answered: working time in office hours."""
        return add_working_time(self.hours, since, self.answer_within)

    def to_staff(
        self,
        session: Session,
        text: str,
        *,
        patient: Patient | None = None,
        thread_id: int | None = None,
        buttons: Buttons = (),
        priority: Priority = Priority.INTERACTIVE,
        card: bool = False,
    ) -> int:
        """A message for the guides: into `patient`'s topic when the chat has topics. Returns its last row."""
        where = Where(topic_of=patient.id) if patient is not None and self.forum else Where(thread_id=thread_id)
        rows = outbox.enqueue(
            session, self.staff_chat_id, Message(text, buttons, where=where, card=card), self.clock.now(),
            priority=priority, patient_id=patient.id if patient else None,
        )  # fmt: skip
        return rows[-1]

    def _to_patient(self, session: Session, patient: Patient, payload: Message | Copy) -> list[int]:
        return outbox.enqueue(session, patient.chat_id, payload, self.clock.now(), patient_id=patient.id)

    def _patient_day(self, patient: Patient, moment: datetime) -> str:
        """When, in the patient's own time zone and words: "today at 17:00"."""
        local = moment.astimezone(ZoneInfo(patient.timezone))
        today = self.clock.now().astimezone(ZoneInfo(patient.timezone)).date()
        day = "today" if local.date() == today else "tomorrow" if local.date() == today + timedelta(days=1) else ""
        return self.ui("guide_answer_by", day=day, date=long_date(self.texts, local.date()), time=f"{local:%H:%M}")

    # -- topics ---------------------------------------------------------------------------

    def ensure_topic(self, session: Session, patient: Patient) -> None:
        """The patient's topic, created when first needed (forum staff chats only)."""
        if self.forum and patient.id is not None and topics.topic_of(session, patient.id) is None:
            self._make_topic(session, patient)

    def _make_topic(self, session: Session, patient: Patient) -> None:
        assert patient.id is not None
        now = self.clock.now()
        name = topic_name(patient.code or "?", tickets.open_ticket(session, patient.id) is not None)
        # Before anything meant for the topic, urgent alerts included.
        rows = outbox.enqueue(
            session, self.staff_chat_id, CreateTopic(name), now, priority=Priority.URGENT, patient_id=patient.id
        )
        topics.save_topic(session, patient.id, self.staff_chat_id, rows[0], name, now)
        self.to_staff(session, self.card(session, patient), patient=patient, priority=Priority.URGENT, card=True)

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
        rename = RenameTopic(name, Where(topic_of=patient.id))
        outbox.enqueue(session, self.staff_chat_id, rename, self.clock.now(), patient_id=patient.id)

    def topic_gone(self, session: Session, message: Claimed, now: datetime) -> None:
        """Staff deleted a patient's topic: make it again, with the card, and send the message there."""
        payload = message.payload
        where = getattr(payload, "where", Where())
        patient = session.get(Patient, where.topic_of) if where.topic_of is not None else None
        if patient is None or patient.id is None:
            outbox.mark_failed(session, message.id, "message thread not found")
            return
        topic = topics.topic_of(session, patient.id)
        if topic is not None and topics.thread_of(session, topic) == where.thread_id:
            self._make_topic(session, patient)
            audit(session, now, "coach", "topic_recreated", patient.id)
            log.warning("the topic of %s was deleted; making it again", patient.code)
        if (isinstance(payload, Message) and payload.card) or isinstance(payload, RenameTopic):
            outbox.mark_cancelled(session, message.id)  # the new topic has its own card and name
        else:
            outbox.retry_at(session, message.id, now, "topic deleted; made again", count_attempt=False)

    # -- what the guides read about a patient ---------------------------------------------

    def facts(self, session: Session, patient: Patient) -> cards.Patient:
        assert patient.id is not None
        state, _ = load_state(session, patient)
        flows = self.content.for_locale(None).flows
        place = state.lesson_place
        current = flows.get(place.flow) if place else None
        in_progress = None
        if current is not None and current.number and place is not None:
            in_progress = cards.LessonPlace(current.number, current.title, place.step)
        last_done = None
        if state.lessons_done:
            last = self.content.for_locale(None).lesson(max(state.lessons_done))
            last_done = cards.LessonPlace(max(state.lessons_done), last.title if last else "?")
        return cards.Patient(
            code=patient.code or "?", status=patient.status, consented_at=patient.consented_at,
            lessons_done=state.lessons_done, in_progress=in_progress, last_done=last_done,
            scores=results.latest_results(session, patient.id), flags=results.open_flags(session, patient.id),
            unreachable=patient.unreachable_at is not None,
            enrolment=cards.Enrolled(
                site=patient.site, eligibility=patient.eligibility, consent_version=patient.consent_version,
                trial=patient.programme == "trial", arm=patient.arm, contact=contact_of(patient),
            ),
        )  # fmt: skip

    def card(self, session: Session, patient: Patient) -> str:
        return cards.card(self.texts, self.facts(session, patient), self.hours.zone)

    # -- from the patient (inside the coach's transaction) --------------------------------

    def relay_from_patient(
        self,
        session: Session,
        patient: Patient,
        message_ids: tuple[int, ...],
        unscreened: tuple[tuple[int, str], ...] = (),
    ) -> None:
        """Copy the patient's messages to their guide and tell the patient when to expect an answer.
        What could not be read for risk (a voice note, a sticker ...) is named above the copies."""
        assert patient.id is not None
        now = self.clock.now()
        ticket, fresh = tickets.patient_wrote(session, patient.id, now)
        self.ensure_topic(session, patient)
        self._mark_topic(session, patient)
        done = ((plain(self.ui("staff_mark_answered")), f"{DONE}{ticket.id}"),)
        note = self.not_screened(tuple(kind for message_id, kind in unscreened if message_id in message_ids))
        if not self.forum:
            text = self.ui("staff_relay_header", code=patient.code) + (f"\n{note}" if note else "")
            header = self.to_staff(session, text, patient=patient)
            topics.record_relay(
                session, patient_id=patient.id, direction=TO_GUIDES, source_chat_id=patient.chat_id,
                source_message_id=message_ids[0], copy_row=header, now=now, composed=True, ticket_id=ticket.id,
            )  # fmt: skip
        elif note:
            self.to_staff(session, note, patient=patient)
        where = Where(topic_of=patient.id) if self.forum else Where()
        for message_id in message_ids:
            copy = Copy(patient.chat_id, message_id, done, where)
            rows = outbox.enqueue(session, self.staff_chat_id, copy, now, patient_id=patient.id)
            topics.record_relay(
                session, patient_id=patient.id, direction=TO_GUIDES, source_chat_id=patient.chat_id,
                source_message_id=message_id, copy_row=rows[0], now=now, ticket_id=ticket.id,
            )  # fmt: skip
        answer_by = self._patient_day(patient, self.answer_by(ticket.waiting_since or now))
        sent = self.ui("guide_sent", answer_by=answer_by, count=len(message_ids))
        self._to_patient(session, patient, Message(sent))
        audit(
            session, now, "coach", "relayed_to_guides", patient.id,
            messages=len(message_ids), ticket_id=ticket.id, ticket_opened=fresh,
        )  # fmt: skip
        log.info("%d message(s) from %s relayed to the guides", len(message_ids), patient.code)

    def not_screened(self, kinds: tuple[str, ...]) -> str:
        """The guide's "Not screened: voice note, sticker", or "" when everything was read."""
        keys = (f"unscreened_{kind}" for kind in kinds)
        names = dict.fromkeys(self.ui(key if key in self.texts else "unscreened_other") for key in keys)
        return self.ui("staff_not_screened", kinds=", ".join(names)) if names else ""

    def share_entry(self, session: Session, patient: Patient, entry: ShareEntry) -> None:
        """An entry the patient shared: a card in their topic that the guide can answer (a reply in
        the topic, or to the card in a group without topics, goes to the patient), and a
        conversation open until a guide marks it answered, like a message."""
        assert patient.id is not None
        now = self.clock.now()
        ticket, fresh = tickets.patient_wrote(session, patient.id, now)
        self.ensure_topic(session, patient)
        self._mark_topic(session, patient)
        text = summaries.shared_card(self.texts, patient.code or "?", entry.title, entry.number, entry.saved,
                                     entry.summary)  # fmt: skip
        done = ((plain(self.ui("staff_mark_answered")), f"{DONE}{ticket.id}"),)
        row = self.to_staff(session, text, patient=patient, buttons=done)
        topics.record_relay(
            session, patient_id=patient.id, direction=TO_GUIDES, source_chat_id=patient.chat_id,
            source_message_id=0, copy_row=row, now=now, composed=True, ticket_id=ticket.id,
        )  # fmt: skip
        answer_by = self._patient_day(patient, self.answer_by(ticket.waiting_since or now))
        self._to_patient(session, patient, Message(self.ui("share_sent", answer_by=answer_by)))
        audit(session, now, "coach", "entry_shared", patient.id, tool=entry.tool, entry=entry.number,
              ticket_id=ticket.id, ticket_opened=fresh)  # fmt: skip
        log.info("%s shared a %s entry with the guides", patient.code, entry.tool)

    def notify_about(self, session: Session, patient: Patient, text: str, buttons: Buttons = ()) -> None:
        """A message for the guides about one patient (NotifyStaff, a stepped-care flag): into their topic."""
        self.ensure_topic(session, patient)
        self.to_staff(session, text, patient=patient, buttons=buttons)

    def alert_in_topic(self, session: Session, patient: Patient, alert: Alert) -> None:
        """An urgent alert stays in the main thread (with Acknowledge), where everyone on shift
        sees it; the patient's topic gets a note, so their story reads whole."""
        if not self.forum:
            return
        self.ensure_topic(session, patient)
        note = self.ui("staff_alert_in_topic", code=patient.code, level=alert.level, reason=alert.reason)
        self.to_staff(session, note, patient=patient, priority=Priority.URGENT)

    def mirror_patient_edit(self, session: Session, patient: Patient, message_id: int, html: str, caption: bool) -> int:
        """The patient edited a message they sent their guide: edit the guides' copy. Returns how many."""
        if patient.id is None:
            return 0
        now = self.clock.now()
        count = 0
        for relayed in topics.copies_of(session, patient.chat_id, message_id):
            if relayed.direction != TO_GUIDES or relayed.composed:
                continue
            ticket = session.get(Ticket, relayed.ticket_id) if relayed.ticket_id else None
            still_open = ticket is not None and ticket.answered_at is None
            buttons = ((plain(self.ui("staff_mark_answered")), f"{DONE}{ticket.id}"),) if ticket and still_open else ()
            edit = Edit(html, buttons, caption=caption, message_ref=relayed.copy_row)
            outbox.enqueue(session, self.staff_chat_id, edit, now, patient_id=patient.id)
            count += 1
        if count:
            audit(session, now, "coach", "relayed_edit_mirrored", patient.id, copies=count)
        return count

    # -- from the guides (each its own transaction, once per update) ----------------------

    def reply(self, session: Session, post: StaffPost, text: str) -> None:
        self.to_staff(session, text, thread_id=post.thread_id)

    def patient_of_post(self, session: Session, post: StaffPost) -> Patient | None:
        """The patient a staff message is about: the topic it is in, or the patient message it answers."""
        if post.thread_id is not None:
            patient_id = topics.patient_for_thread(session, self.staff_chat_id, post.thread_id)
            if patient_id is not None:
                return session.get(Patient, patient_id)
        if post.reply_to is not None:
            relayed = topics.relayed_as(session, self.staff_chat_id, post.reply_to)
            if relayed is not None and relayed.direction == TO_GUIDES:
                return session.get(Patient, relayed.patient_id)
        return None

    def staff_post(self, update_id: int | None, post: StaffPost) -> str:
        """A message in the staff chat: relayed to a patient when it is written in their topic or
        in reply to their message; anything else is the guides' own conversation."""
        return self.inbox.once(update_id, lambda session: self._staff_post(session, post), "duplicate")

    def _staff_post(self, session: Session, post: StaffPost) -> str:
        now = self.clock.now()
        role = staff.role_of(session, post.user_id)
        patient = self.patient_of_post(session, post)
        if patient is None:
            if post.reply_to_bot and may(role, "reply"):
                self.reply(session, post, self.ui("staff_reply_unknown"))  # rather than silence
            return "not for a patient"
        assert patient.id is not None
        if not may(role, "reply"):
            self.reply(session, post, self.ui("staff_reply_refused"))
            audit(session, now, f"staff:{post.user_id}", "staff_refused", patient.id, what="reply")
            return "refused"
        name = post.first_name if self.names_visible else ""
        if post.media:
            self._to_patient(session, patient, Message(self.ui("guide_reply_media", name=name)))
            row = self._to_patient(session, patient, Copy(self.staff_chat_id, post.message_id))[0]
            composed = False
        else:
            # An edit rewrites the first part (Telegram allows 4096 characters a message).
            reply = Message(f"{self.ui('guide_reply', name=name)}\n{post.html or ''}")
            row = self._to_patient(session, patient, reply)[0]
            composed = True
        topics.record_relay(
            session, patient_id=patient.id, direction=TO_PATIENT, source_chat_id=self.staff_chat_id,
            source_message_id=post.message_id, copy_row=row, now=now, composed=composed,
        )  # fmt: skip
        tickets.guide_replied(session, patient.id)
        if patient.unreachable_at is not None:  # a reply that would never arrive: say so
            self.reply(session, post, self.ui("staff_patient_unreachable", code=patient.code))
        audit(session, now, f"staff:{post.user_id}", "guide_replied", patient.id, media=post.media)
        log.info("a guide answered %s", patient.code)
        return "relayed"

    def staff_edited(self, update_id: int | None, post: StaffPost) -> int:
        """A guide edited a reply: edit the patient's copy too. Returns how many copies."""
        return self.inbox.once(update_id, lambda session: self._staff_edited(session, post), 0)

    def _staff_edited(self, session: Session, post: StaffPost) -> int:
        now = self.clock.now()
        count = 0
        for relayed in topics.copies_of(session, self.staff_chat_id, post.message_id):
            patient = session.get(Patient, relayed.patient_id)
            if relayed.direction != TO_PATIENT or patient is None:
                continue
            name = post.first_name if self.names_visible else ""
            if relayed.composed:
                edit = Edit(f"{self.ui('guide_reply', name=name)}\n{post.html or ''}", message_ref=relayed.copy_row)
            else:
                edit = Edit(post.html or "", caption=True, message_ref=relayed.copy_row)
            outbox.enqueue(session, patient.chat_id, edit, now, patient_id=patient.id)
            audit(session, now, f"staff:{post.user_id}", "guide_reply_edited", patient.id)
            count += 1
        return count

    def mark_answered(self, update_id: int | None, user_id: int, ticket_id: int) -> str:
        """The "Mark answered" button; returns the short answer to the tap."""

        def work(session: Session) -> str:
            ticket = session.get(Ticket, ticket_id)
            patient = session.get(Patient, ticket.patient_id) if ticket else None
            if ticket is None or patient is None:
                return plain(self.ui("staff_already_answered", code="?"))
            if not may(staff.role_of(session, user_id), "done"):
                audit(session, self.clock.now(), f"staff:{user_id}", "staff_refused", patient.id, what="done")
                return plain(self.ui("staff_refused", command="✅", roles=self.role_names("done")))
            return plain(self.close(session, patient, ticket, user_id))

        return self.inbox.once(update_id, work, plain(self.ui("already_noted")))

    def role_names(self, action: str) -> list[str]:
        return [self.ui(f"staff_role_{role}") for role in MAY[action]]

    def close(self, session: Session, patient: Patient, ticket: Ticket | None, user_id: int) -> str:
        """Mark a conversation answered: the topic turns green and the Mark answered buttons go."""
        assert patient.id is not None
        now = self.clock.now()
        if ticket is None or not tickets.mark_answered(session, ticket, user_id, now):
            return self.ui("staff_already_answered", code=patient.code)
        self._mark_topic(session, patient)
        for relayed in topics.copies_in_ticket(session, ticket.id or 0):
            outbox.enqueue(
                session, self.staff_chat_id, EditButtons(message_ref=relayed.copy_row), now, patient_id=patient.id
            )
        audit(session, now, f"staff:{user_id}", "ticket_answered", patient.id, ticket_id=ticket.id)
        return self.ui("staff_marked_answered", code=patient.code)

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
                text = self.ui("staff_overdue", code=patient.code, waited=waited(self.texts, ticket.waiting_since, now),
                               count=ticket.raised_count)  # fmt: skip
                self.to_staff(session, text)
                audit(session, now, "coach", "ticket_raised_again", patient.id, ticket_id=ticket.id,
                      count=ticket.raised_count)  # fmt: skip
            return len(due)

    # -- start-up -------------------------------------------------------------------------

    def seed_admins(self, admin_ids: tuple[int, ...]) -> None:
        with self.database.transaction() as session:
            now = self.clock.now()
            for user_id in staff.ensure_admins(session, admin_ids, now):
                audit(session, now, "coach", "staff_added", None, user=user_id, role=ADMIN, source="ADMIN_IDS")
