"""The staff side's pure core, without a database: who may do what, what a ticket becomes, topic
names, reading staff commands, and what the card, the queue and the report say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from content.render import plain
from content.schema import Content
from dialogs.desk import card, commands, queue, tickets
from dialogs.desk.roles import ADMIN, COORDINATOR, GUIDE, MAY, may
from dialogs.desk.topics import topic_name

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_who_may_do_what() -> None:
    assert all(may(ADMIN, action) for action in MAY), "an admin may do everything"
    assert may(GUIDE, "reply") and may(GUIDE, "checkin") and not may(GUIDE, "report") and not may(GUIDE, "broadcast")
    assert may(COORDINATOR, "queue") and may(COORDINATOR, "broadcast") and not may(COORDINATOR, "reply")
    assert not any(may(None, action) for action in MAY), "someone not on the staff list may do nothing"


def test_a_ticket_from_first_message_to_answered() -> None:
    opened = tickets.patient_wrote(None, NOW)
    assert opened.is_open and opened.waiting_since == NOW
    again = tickets.patient_wrote(opened, NOW + HOUR)
    assert again.waiting_since == NOW, "a second message keeps the first's waiting time"
    answer_by = lambda since: since + 3 * HOUR  # noqa: E731
    assert not tickets.is_overdue(again, NOW + 2 * HOUR, answer_by)
    assert tickets.is_overdue(again, NOW + 3 * HOUR, answer_by)
    raised = tickets.raised_again(again, NOW + 3 * HOUR)
    assert raised.raised_count == 1 and not tickets.is_overdue(raised, NOW + 5 * HOUR, answer_by), "counted anew"
    replied = tickets.guide_replied(raised)
    assert (
        replied.is_open
        and replied.waiting_since is None
        and not tickets.is_overdue(replied, NOW + 99 * HOUR, answer_by)
    )
    closed = tickets.answered(replied, 7, NOW + 4 * HOUR)
    assert closed is not None and not closed.is_open and closed.answered_by == 7
    assert tickets.answered(closed, 8, NOW + 5 * HOUR) is None, "a second tap changes nothing"
    assert tickets.patient_wrote(closed, NOW + 6 * HOUR).opened_at == NOW + 6 * HOUR, "a new message opens a new one"


@given(st.lists(st.tuples(st.integers(0, 500), st.booleans()), min_size=0, max_size=20, unique_by=lambda p: p[0]))
def test_the_queue_puts_the_longest_waiting_first(waits: list[tuple[int, bool]]) -> None:
    states = [
        (
            i,
            tickets.TicketState(
                opened_at=NOW - timedelta(minutes=m), waiting_since=NOW - timedelta(minutes=m) if w else None
            ),
        )
        for i, (m, w) in enumerate(waits)
    ]
    ordered = [t for _, t in tickets.queue_order(states)]
    keys = [t.waiting_since or t.opened_at for t in ordered]
    assert keys == sorted(keys) and len(ordered) == len(states)


def test_topic_names_carry_the_status() -> None:
    assert topic_name("P-0042", waiting=True) == "P-0042 🔴"
    assert topic_name("P-0042", waiting=False) == "P-0042 🟢"


def test_reading_staff_commands() -> None:
    assert commands.read("checkin", "P-0042 phone 15", 1) == commands.LogContact("P-0042", "phone", 15)
    assert commands.read("checkin", "message 5", 1) == commands.LogContact(None, "message", 5), "in the topic"
    for bad in ("P-0042 phone", "P-0042 fax 15", "phone 0", "phone 601", "phone fifteen"):
        assert commands.read("checkin", bad, 1) == commands.Usage("checkin"), bad
    assert commands.read("note", "p-0042 feels low today", 1) == commands.AddNote("P-0042", "feels low today")
    assert commands.read("note", "P-0042", 1) == commands.Usage("note")
    assert commands.read("staff", "add 22 coordinator", 1) == commands.SetRole(22, "coordinator")
    assert commands.read("staff", "add 22 boss", 1) == commands.Usage("staff")
    assert commands.read("staff", "remove 1", 1) == commands.NotAllowed("staff_not_yourself", 1), "no lock-out"
    assert commands.read("staff", "add 1 guide", 1) == commands.NotAllowed("staff_not_yourself", 1), "nor a demotion"
    assert commands.read("staff", "add 0 admin", 1) == commands.Usage("staff"), "0 is nobody"
    admins = frozenset({5})
    assert commands.read("staff", "add 5 guide", 1, admins) == commands.NotAllowed("staff_fixed_admin", 5)
    assert commands.read("staff", "remove 5", 1, admins) == commands.NotAllowed("staff_fixed_admin", 5)
    assert commands.read("staff", "add 5 admin", 1, admins) == commands.SetRole(5, "admin")
    assert commands.read("done", "", 1) == commands.MarkDone(None)
    assert len(commands.read("note", "x " + "y" * 5000, 1).text) == commands.MAX_NOTE  # type: ignore[union-attr]


def test_the_card_and_the_case_read_from_content(content: Content) -> None:
    texts = content.for_locale(None).ui
    facts = card.Patient(
        code="P-0042", status="active", consented_at=NOW, lessons_done=(1,),
        in_progress=card.LessonPlace(2, "Thoughts and pain", "evidence"), last_done=card.LessonPlace(1, "The cycle"),
        scores=[card.ScoreLine("phq9", "PHQ-9", "12", "moderate", "+3", "week-1", NOW + 7 * 24 * HOUR)],
        flags=[card.FlagLine("PHQ-9 up 5 or more since baseline", "week-1", NOW)],
    )  # fmt: skip
    shown = plain(card.card(texts, facts, "Europe/London"))
    assert "Lesson reached: 2 (Thoughts and pain), in progress" in shown
    assert "PHQ-9: 12 (moderate), +3 since baseline (week-1, 2026-03-09)" in shown
    assert "PHQ-9 up 5 or more since baseline (week-1, 2026-03-02)" in shown
    case = card.Case(facts, waiting_since=NOW - 3 * HOUR - 20 * timedelta(minutes=1), ticket_open=True,
                     last_contact=card.Contact("phone", 15, NOW - 2 * 24 * HOUR), minutes=15,
                     notes=[card.Note("Worried about sleep", NOW)])  # fmt: skip
    view = plain(card.case(texts, case, NOW, "UTC"))
    assert "Open conversation: waiting 3 h 20 min" in view
    assert "Last contact: phone, 15 min, 2 d 0 h ago" in view
    assert "In progress: lesson 2 (Thoughts and pain), at evidence" in view
    assert "2026-03-02: Worried about sleep" in view
    assert "Lessons done: 1" in view


def test_the_queue_and_the_report(content: Content) -> None:
    texts = content.for_locale(None).ui
    due = queue.contacts_due(
        [queue.InCourse("P-0001", NOW - 20 * 24 * HOUR, None), queue.InCourse("P-0002", NOW - 2 * 24 * HOUR, None),
         queue.InCourse("P-0003", NOW - 20 * 24 * HOUR, NOW - 3 * 24 * HOUR)], NOW,
    )  # fmt: skip
    assert [code for code, _ in due] == ["P-0001"]
    open_ones = [(1, "P-0002", tickets.TicketState(NOW - HOUR, NOW - HOUR)),
                 (2, "P-0001", tickets.TicketState(NOW - 5 * HOUR, NOW - 5 * HOUR))]  # fmt: skip
    shown = plain(queue.queue(texts, open_ones, due, NOW))
    assert shown.index("P-0001: waiting 5 h 0 min") < shown.index("P-0002: waiting 1 h 0 min")
    assert "P-0001: no contact for 20 d 0 h" in shown
    report = plain(queue.report(texts, [queue.Minutes("P-0001", 1, 15), queue.Minutes("P-0002", 2, 45)]))
    assert report.index("P-0002: 45 min in 2 contact(s)") < report.index("P-0001: 15 min")
    assert "Total: 60 min, 30 min a patient on average." in report


def test_a_contact_note_reads_method_minutes_risk_and_topics() -> None:
    assert commands.read("checkin", "P-0042 phone 15 risk:yes pacing, sleep", 1) == commands.LogContact(
        "P-0042", "phone", 15, ("pacing", "sleep"), True
    )
    assert commands.read("checkin", "video 20 low mood RISK=no", 1) == commands.LogContact(
        None, "video", 20, ("low mood",), False
    ), "risk anywhere after the minutes, either case"
    assert commands.read("checkin", "message 5", 1) == commands.LogContact(None, "message", 5, (), None)
    assert commands.read("checkin", "risk:yes phone 5", 1) == commands.Usage("checkin")


def test_minutes_per_course_week() -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    contacts = [(start - timedelta(hours=1), 5), (start + timedelta(days=1), 15), (start + timedelta(days=8), 10),
                (start + timedelta(days=9), 5), (start + timedelta(days=30), 20)]  # fmt: skip
    assert queue.minutes_by_week(start, contacts) == ((1, 20), (2, 15), (5, 20))
    assert queue.minutes_by_week(None, contacts[:2]) == ((1, 20),)
