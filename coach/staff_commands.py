"""The staff commands (/queue, /patient, /checkin, /note, /done, /outcome, /report, /staff): read by the pure
core (dialogs/desk/commands.py), allowed by role, answered in the thread they were typed in, and
written to the audit log (never the text of a note)."""

from __future__ import annotations

import logging

from sqlmodel import Session

from coach.desk import GuideDesk, StaffPost
from coach.enrolment import Enrolment
from coach.summaries import entry_lines
from content.calendar import staff_date
from dialogs.desk import card as cards
from dialogs.desk import commands
from dialogs.desk import queue as queues
from dialogs.desk.roles import MAY, may
from dialogs.desk.tickets import TicketState
from dialogs.satisfaction import QUESTIONNAIRE, rate
from storage import results, staff, summaries, tickets
from storage.alerts import add_outcome_note, audit
from storage.enrolment import StageCounts, stage_counts
from storage.models import Patient
from storage.patients import patient_by_code

log = logging.getLogger(__name__)

ABOUT_A_PATIENT = ("patient", "checkin", "note", "done")  # commands that name a patient, or their topic


class StaffCommands:
    def __init__(
        self, desk: GuideDesk, fixed_admins: frozenset[int] = frozenset(), enrolment: Enrolment | None = None
    ) -> None:
        self.desk = desk
        self.enrolment = enrolment
        self.fixed_admins = fixed_admins  # ADMIN_IDS: admins again at every start

    def command(self, update_id: int | None, post: StaffPost, name: str, args: str) -> str:
        """A command in the staff chat; the answer goes to the same thread. Returns what happened."""
        return self.desk.inbox.once(update_id, lambda session: self._command(session, post, name, args), "duplicate")

    def _command(self, session: Session, post: StaffPost, name: str, args: str) -> str:
        desk, now = self.desk, self.desk.clock.now()
        if name not in MAY:
            return "not a staff command"
        actor = f"staff:{post.user_id}"
        if not may(staff.role_of(session, post.user_id), name):
            desk.reply(session, post, desk.ui("staff_refused", command="/" + name, roles=desk.role_names(name)))
            audit(session, now, actor, "staff_refused", None, command=name)
            log.warning("staff command /%s refused to someone without the role", name)
            return "refused"
        request = commands.read(name, args, post.user_id, self.fixed_admins)
        code = commands.named_code(args)
        if name in ABOUT_A_PATIENT and code and patient_by_code(session, code) is None:
            answer = desk.ui("staff_no_patient", code=code)
        else:
            answer = self._answer(session, post, request, actor)
        desk.reply(session, post, answer)
        return name

    def _answer(self, session: Session, post: StaffPost, request: commands.Request, actor: str) -> str:
        desk, now = self.desk, self.desk.clock.now()
        if isinstance(request, commands.ShowStaff):
            lines = [desk.ui("staff_member_line", user=m.telegram_user_id, role=m.role) for m in staff.members(session)]
            audit(session, now, actor, "staff_listed", None)
            return desk.ui("staff_list", members=lines)
        if isinstance(request, commands.SetRole):
            before = staff.set_role(session, request.user, request.role, post.user_id, now)
            audit(session, now, actor, "staff_added", None, user=request.user, role=request.role, before=before)
            return desk.ui("staff_added", user=request.user, role=request.role)
        if isinstance(request, commands.RemoveStaff):
            removed = staff.remove(session, request.user)
            if removed is None:
                return desk.ui("staff_not_member", user=request.user)
            audit(session, now, actor, "staff_removed", None, user=request.user, role=removed)
            return desk.ui("staff_removed", user=request.user, role=removed)
        if isinstance(request, commands.ShowQueue):
            return self._queue(session, actor)
        if isinstance(request, commands.ShowReport):
            rows = [
                queues.Minutes(
                    p.code or "?",
                    n,
                    m,
                    queues.minutes_by_week(p.consented_at, summaries.contacts_of(session, p.id or 0)),
                )
                for p, n, m in tickets.clinician_time(session)
            ]
            satisfaction = rate(answers for _, answers in results.latest_answers(session, QUESTIONNAIRE))
            audit(session, now, actor, "report_viewed", None)
            return queues.report(desk.texts, rows, satisfaction)
        if isinstance(request, commands.CreateInvite):
            return self._invite(session, request, actor)
        if isinstance(request, commands.ShowEnrolment):
            audit(session, now, actor, "enrolment_viewed", None)
            return enrolment_report(desk, stage_counts(session))
        if isinstance(request, commands.Usage):
            return desk.ui(f"staff_usage_{request.command}")
        if isinstance(request, commands.AlertNote):
            alert = add_outcome_note(session, request.alert_id, post.user_id, request.text, now)
            if alert is None:
                return desk.ui("staff_outcome_no_alert", alert=request.alert_id)
            if alert.closed_at is None:
                return desk.ui("staff_outcome_not_closed", alert=request.alert_id)
            return desk.ui("staff_outcome_noted", alert=request.alert_id)
        if isinstance(request, commands.NotAllowed):
            audit(session, now, actor, "staff_refused", None, command="staff", why=request.why, user=request.user)
            return desk.ui(request.why, user=request.user)
        code = request.code
        patient = patient_by_code(session, code) if code else desk.patient_of_post(session, post)
        if patient is None or patient.id is None:  # no code, and not typed in a patient's topic
            return desk.ui(f"staff_usage_{_usage_of(request)}")
        if isinstance(request, commands.LogContact):
            tickets.log_contact(session, patient.id, post.user_id, request.kind, request.minutes, now,
                                topics=request.topics, risk_checked=request.risk_checked)  # fmt: skip
            session.flush()
            audit(session, now, actor, "checkin_logged", patient.id, kind=request.kind, minutes=request.minutes,
                  topics=len(request.topics), risk_checked=request.risk_checked)  # fmt: skip
            total = tickets.clinician_minutes(session, patient.id)
            risk = "" if request.risk_checked is None else "yes" if request.risk_checked else "no"
            return desk.ui("staff_contact_logged", code=patient.code, kind=request.kind, minutes=request.minutes,
                           total=total, risk=risk, topics=list(request.topics))  # fmt: skip
        if isinstance(request, commands.AddNote):
            note = tickets.add_note(session, patient.id, post.user_id, request.text, now)
            audit(session, now, actor, "note_added", patient.id, note_id=note.id, length=len(request.text))
            return desk.ui("staff_note_saved", code=patient.code)
        if isinstance(request, commands.MarkDone):
            return desk.close(session, patient, tickets.open_ticket(session, patient.id), post.user_id)
        return self._patient(session, patient, actor)

    def _invite(self, session: Session, request: commands.CreateInvite, actor: str) -> str:
        desk, now = self.desk, self.desk.clock.now()
        if self.enrolment is None or not self.enrolment.bot_username:
            return desk.ui("staff_invite_no_username")
        invitation = self.enrolment.invite(
            session, now, actor=actor, uses=request.uses, expires_days=request.days, site=request.site,
            note=request.note,
        )  # fmt: skip
        expires = staff_date(desk.texts, invitation.expires_at, desk.hours.zone) if invitation.expires_at else ""
        return desk.ui("staff_invite_created", uses=invitation.max_uses, expires=expires, site=invitation.site or "",
                       link=self.enrolment.link(invitation.code))  # fmt: skip

    def _queue(self, session: Session, actor: str) -> str:
        desk, now = self.desk, self.desk.clock.now()
        open_ones = []
        for ticket in tickets.open_tickets(session):
            patient = session.get(Patient, ticket.patient_id)
            open_ones.append((ticket.id or 0, (patient.code if patient else None) or "?", tickets.state_of(ticket)))
        due = [(p.code or "?", since) for p, since in tickets.contacts_due_now(session, now)]
        audit(session, now, actor, "queue_viewed", None)
        return queues.queue(desk.texts, open_ones, due, now)

    def _patient(self, session: Session, patient: Patient, actor: str) -> str:
        desk, now = self.desk, self.desk.clock.now()
        assert patient.id is not None
        ticket = tickets.open_ticket(session, patient.id)
        state: TicketState | None = tickets.state_of(ticket) if ticket else None
        contact = tickets.last_contact(session, patient.id)
        facts = cards.Case(
            patient=desk.facts(session, patient),
            waiting_since=state.waiting_since if state else None,
            ticket_open=state is not None,
            last_contact=cards.Contact(contact.kind, contact.minutes, contact.at) if contact else None,
            minutes=tickets.clinician_minutes(session, patient.id),
            notes=[cards.Note(n.text, n.created_at) for n in tickets.recent_notes(session, patient.id)],
            entries=entry_lines(
                desk, session, patient, summaries.recent_entries(session, patient.id, cards.SHOW_ENTRIES)
            ),
        )
        audit(session, now, actor, "patient_viewed", patient.id)
        return cards.case(desk.texts, facts, now, desk.hours.zone)


def enrolment_report(desk: GuideDesk, counts: StageCounts) -> str:
    arms = [
        desk.ui("staff_enrolment_arm", arm=arm or "-", counts=", ".join(f"{k} {v}" for k, v in sorted(by.items())))
        for arm, by in sorted(counts.by_arm_status.items())
    ]
    return desk.ui(
        "staff_enrolment", invited=counts.invited, joined=counts.joined, screened=counts.screened,
        eligible=counts.decisions.get("eligible", 0), not_eligible=counts.decisions.get("not_eligible", 0),
        referred=counts.decisions.get("referred", 0), consented=counts.consented, declined=counts.declined,
        allocated=sum(counts.allocated.values()), course=counts.allocated.get("course", 0),
        waitlist=counts.allocated.get("waitlist", 0), arms=arms,
    )  # fmt: skip


def _usage_of(request: commands.Request) -> str:
    """The command whose usage line answers a request that names no patient it can find."""
    return {
        commands.ShowPatient: "patient",
        commands.MarkDone: "done",
        commands.LogContact: "checkin",
        commands.AddNote: "note",
    }.get(type(request), "patient")
