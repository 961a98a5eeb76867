"""The guide's workspace end to end over the fake Bot API: a patient's message reaches their
topic, a guide's reply reaches the patient, topics deleted by staff come back, a staff group
without topics relays by reply, staff commands check roles, unanswered messages are raised
again, and edits follow on both sides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from clock import ManualClock
from paincoach.app import TelegramCoach
from sandbox.botapi import FakeGroup, FakeMessage, FakeTelegram, FakeUser
from storage.database import Database
from storage.models import AuditEvent, ClinicalNote, StaffContact, Ticket
from tests.e2e import STAFF_CHAT, last, running_coach, say, settings_for, settle, tap
from tests.test_e2e import label_with, walk_to_button

ADMIN, GUIDE, COORDINATOR, STRANGER = 700, 701, 702, 703
SEND = "📨 Send to my guide"
DONE = "✅ Mark answered"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def audit_log(database_url: str) -> list[AuditEvent]:
    database = Database(database_url)
    try:
        with database.transaction() as session:
            return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())
    finally:
        database.dispose()


async def staff_says(
    staff: FakeGroup,
    telegram: FakeTelegram,
    who: int,
    text: str,
    thread: int | None = None,
    reply_to: int | None = None,
    *,
    answer_in: FakeGroup | FakeUser | None = None,
    quiet: bool = False,
) -> None:
    """A member writes in the staff chat; waits for the coach's answer (in the staff chat, or
    for the patient in `answer_in`) unless `quiet`: nothing is expected."""
    view = answer_in or staff
    view.mark()
    staff.send_text(who, text, thread_id=thread, reply_to_message_id=reply_to)
    if not quiet:
        await telegram.wait_for(lambda: bool(view.new_messages))
    await settle(telegram)


async def with_guide(staff: FakeGroup, telegram: FakeTelegram) -> None:
    """The admin (from ADMIN_IDS) makes GUIDE a guide and COORDINATOR a coordinator."""
    await staff_says(staff, telegram, ADMIN, f"/staff add {GUIDE} guide")
    await staff_says(staff, telegram, ADMIN, f"/staff add {COORDINATOR} coordinator")
    assert f"{GUIDE} is now guide" in staff.messages[-2].text
    assert f"{COORDINATOR} is now coordinator" in staff.messages[-1].text


async def ask_guide(user: FakeUser, telegram: FakeTelegram, staff: FakeGroup, text: str) -> None:
    """Free text on the menu: the coach asks first, the patient taps Send; the copy arrives."""
    user.mark()
    staff.mark()
    await say(user, telegram, text)
    assert "send this to your guide" in last(user).text
    await tap(user, telegram, SEND)
    await arrived(user, staff, telegram)


async def arrived(user: FakeUser, staff: FakeGroup, telegram: FakeTelegram) -> None:
    await user.wait_for_text("Your guide has your message")
    await telegram.wait_for(lambda: any(DONE in m.labels for m in staff.new_messages))
    await settle(telegram)


async def enrol(user: FakeUser, telegram: FakeTelegram) -> None:
    """Onboarding to the menu; waits for the first answer (the first update is the slowest)."""
    user.send_command("/start")
    await user.wait_for_buttons(timeout=10)
    await settle(telegram)
    await walk_to_button(user, telegram, "United Kingdom")
    await tap(user, telegram, "United Kingdom")
    await walk_to_button(user, telegram, "I agree")
    await tap(user, telegram, label_with(user, "I agree"))


def only_topic(staff: FakeGroup) -> int:
    assert len(staff.topics) == 1, staff.topics
    return next(iter(staff.topics))


def copies(staff: FakeGroup, thread: int | None = None) -> list[FakeMessage]:
    """The relayed copies of a patient's messages: the ones with a Mark answered button."""
    messages = staff.topic_messages(thread) if thread is not None else staff.messages
    return [m for m in messages if DONE in m.labels]


async def test_a_question_goes_to_the_patients_topic_and_the_guides_reply_comes_back(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock = ManualClock()  # Monday 09:00 UTC
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, clock):
        await with_guide(staff, telegram)
        user = telegram.user(5001, "Zoe")
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Is it normal to feel worse the day after a walk?")

        arrived = next(m for m in user.new_messages if "Your guide has your message" in m.text)
        assert "today at 17:00" in arrived.text, "eight working hours, in office hours, in the patient's time"
        assert last(user).buttons, "and the menu again, to carry on"

        thread = only_topic(staff)
        assert staff.topics[thread] == "P-0001 🔴", "named by code, red while someone waits"
        card, question = staff.topic_messages(thread)
        assert card.text.startswith("🗂 P-0001")
        assert "Lesson reached: not started" in card.text
        assert "Latest scores: none yet" in card.text
        assert question.text == "Is it normal to feel worse the day after a walk?"
        assert question.labels == [DONE]
        assert all("Zoe" not in m.text for m in staff.messages), "staff never see the patient's name"

        user.mark()
        await staff_says(
            staff, telegram, GUIDE, "Yes, <that> is common. Try a <b>shorter</b> walk.", thread, answer_in=user
        )
        reply = last(user)
        assert reply.text == "💬 Your guide\nYes, <that> is common. Try a <b>shorter</b> walk."
        assert "User 701" not in reply.text, "guides' names are not shown unless configured"

        before = len(user.messages)
        await staff_says(staff, telegram, GUIDE, "// for the team: she mentioned a new GP", thread, quiet=True)
        assert len(user.messages) == before, "a message starting with // stays among the team"

        query = staff.press(GUIDE, DONE, message_id=question.message_id)
        answer = await telegram.wait_answered(query)
        assert answer["text"] == "✅ P-0001: marked answered."
        await settle(telegram)
        assert staff.topics[thread] == "P-0001 🟢"
        assert copies(staff, thread) == [], "the button is gone once answered"

    actions = [e.action for e in audit_log(settings.database_url)]
    for expected in ("staff_added", "relayed_to_guides", "guide_replied", "ticket_answered"):
        assert expected in actions


async def test_a_photo_and_a_guide_name_when_configured(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,), guide_names_visible=True)
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    telegram.user(GUIDE, "Anna")
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5002, "Yan")
        await enrol(user, telegram)
        user.mark()
        staff.mark()
        user.send_photo("my flare diary this week")
        await settle(telegram)
        assert "send this to your guide" in last(user).text
        await tap(user, telegram, SEND)
        await arrived(user, staff, telegram)
        [photo] = copies(staff, only_topic(staff))
        assert photo.photo and photo.text == "my flare diary this week", "copied, photo and caption"

        await staff_says(staff, telegram, GUIDE, "Thank you, that helps.", only_topic(staff), answer_in=user)
        assert last(user).text.startswith("💬 Your guide, Anna\n")

        user.mark()
        staff.send_photo(GUIDE, "a pacing chart to try", thread_id=only_topic(staff))
        await telegram.wait_for(lambda: any(m.photo for m in user.new_messages))
        header, chart = user.new_messages[-2:]
        assert header.text == "💬 Your guide, Anna sent you this:"
        assert chart.photo and chart.text == "a pacing chart to try"


async def test_a_topic_deleted_by_staff_is_made_again_and_nothing_is_lost(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5003)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "First question")
        first = only_topic(staff)
        staff.delete_topic(first)

        user.mark()
        staff.mark()
        user.send_command("/guide", "Second question, after the topic was deleted")
        await arrived(user, staff, telegram)
        second = only_topic(staff)
        assert second != first
        assert staff.topics[second] == "P-0001 🔴"
        card, question = staff.topic_messages(second)
        assert card.text.startswith("🗂 P-0001"), "the new topic opens with the card again"
        assert question.text == "/guide Second question, after the topic was deleted"
        failures = [c for c in telegram.calls if not c.ok and c.finished and c.method != "getChat"]
        assert [c.description for c in failures] == ["Bad Request: message thread not found"]

        await staff_says(staff, telegram, GUIDE, "Got both, thank you.", second, answer_in=user)
        assert "Got both" in last(user).text
        await staff_says(staff, telegram, GUIDE, "/done", second)
        assert staff.messages[-1].text == "✅ P-0001: marked answered." and staff.messages[-1].thread_id == second
        await telegram.wait_for(lambda: staff.topics[second] == "P-0001 🟢")


async def test_a_staff_group_without_topics_relays_by_reply(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides")  # a supergroup, but not a forum
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5004)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Can I skip lesson 2?")
        assert staff.topics == {}
        header, question = staff.messages[-2:]
        assert header.text.startswith("💬 P-0001 wrote to their guide")
        assert question.text == "Can I skip lesson 2?" and question.labels == [DONE]

        await staff_says(
            staff, telegram, GUIDE, "Let's talk about it this week.", reply_to=question.message_id, answer_in=user
        )
        assert last(user).text == "💬 Your guide\nLet's talk about it this week."

        await staff_says(staff, telegram, GUIDE, "And a second thought.", reply_to=header.message_id, answer_in=user)
        assert "second thought" in last(user).text, "a reply to the header reaches the patient too"

        before = len(user.messages)
        await staff_says(staff, telegram, GUIDE, "Just chatting with the team", quiet=True)
        assert len(user.messages) == before, "the guides' own conversation stays in the group"
        await staff_says(staff, telegram, GUIDE, "Which patient?", reply_to=staff.messages[0].message_id)
        assert len(user.messages) == before
        assert "can't tell which patient" in staff.messages[-1].text, "never a silent reply that goes nowhere"

        await staff_says(staff, telegram, GUIDE, "/done P-0001")
        assert staff.messages[-1].text == "✅ P-0001: marked answered."


async def test_every_staff_command_refuses_patients_and_the_wrong_role(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5005)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Hello?")
        thread = only_topic(staff)

        # A patient typing staff commands in their private chat: unknown commands, nothing shown.
        for command in ("/staff", "/queue", "/patient P-0001", "/checkin P-0001 phone 15", "/note P-0001 x", "/done"):
            user.mark()
            await say(user, telegram, command)
            assert "I don't know the command" in user.new_messages[0].text, command
            assert all("P-0001" not in m.text for m in user.new_messages), command
        assert {c["command"] for c in telegram.commands({"type": "all_private_chats"})} == {
            "start", "lesson", "menu", "progress", "tools", "resources", "reminders", "guide", "privacy", "help", "stop"
        }, "the private command menu stays the patients'"  # fmt: skip
        assert "queue" in {c["command"] for c in telegram.commands({"type": "chat", "chat_id": STAFF_CHAT})}

        wrong = [
            (STRANGER, "/queue", "guides and coordinators"),
            (STRANGER, "/patient P-0001", "guides"),
            (COORDINATOR, "/patient P-0001", "guides"),
            (COORDINATOR, "/checkin P-0001 phone 15", "guides"),
            (COORDINATOR, "/note P-0001 feels low", "guides"),
            (COORDINATOR, "/done P-0001", "guides"),
            (COORDINATOR, "/staff", "admins"),
            (GUIDE, "/staff", "admins"),
            (GUIDE, f"/staff add {STRANGER} admin", "admins"),
            (COORDINATOR, f"/staff remove {GUIDE}", "admins"),
        ]
        for who, command, roles in wrong:
            await staff_says(staff, telegram, who, command, thread)
            assert staff.messages[-1].text == f"Sorry, {command.split()[0]} is for {roles} only.", (who, command)

        before = len(user.messages)
        await staff_says(staff, telegram, COORDINATOR, "I'll answer this one", thread)
        assert staff.messages[-1].text == "Only guides can answer patients. This message was not sent."
        query = staff.press(STRANGER, DONE)
        assert "for guides only" in (await telegram.wait_answered(query))["text"]
        await settle(telegram)
        assert len(user.messages) == before, "nothing reached the patient"

        await staff_says(staff, telegram, COORDINATOR, "/queue")
        assert "P-0001: waiting" in staff.messages[-1].text, "coordinators see the queue"

        await staff_says(staff, telegram, ADMIN, "/staff")
        assert staff.messages[-1].text == f"Staff\n• {ADMIN}: admin\n• {COORDINATOR}: coordinator\n• {GUIDE}: guide"
        await staff_says(staff, telegram, ADMIN, f"/staff remove {COORDINATOR}")
        assert staff.messages[-1].text == f"{COORDINATOR} (coordinator) is no longer on the staff list."
        await staff_says(staff, telegram, COORDINATOR, "/queue")
        assert staff.messages[-1].text.startswith("Sorry, /queue is for"), "a removed role is gone at once"

    refused = [e for e in audit_log(settings.database_url) if e.action == "staff_refused"]
    private = [e for e in refused if e.detail.get("where") == "private chat"]
    assert len(private) == 6, "each staff command a patient typed in their private chat is audited (issue 17)"
    assert len(refused) - len(private) == len(wrong) + 3


async def test_an_unanswered_message_is_raised_again(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()  # Monday 09:00 UTC; office hours Mon-Fri 09:00-17:00
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, clock) as coach:
        desk = coach.services.desk
        assert desk is not None

        async def sweep() -> int:
            raised = await coach.service.run_periodic("ticket-sweep")
            await settle(telegram)
            return raised

        await with_guide(staff, telegram)
        user = telegram.user(5006)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Nobody has answered me")
        clock.advance(timedelta(hours=7, minutes=59))  # Monday 16:59
        assert await sweep() == 0, "not yet one working day (eight office hours)"
        clock.advance(timedelta(minutes=2))  # Monday 17:01
        staff.mark()
        assert await sweep() == 1
        raised = await staff.wait_for_text("has waited")
        assert raised.thread_id is None, "in the main thread, where everyone sees it"
        assert raised.text.startswith("⏰ P-0001 has waited 8 h 1 min for an answer")
        assert await sweep() == 0, "raised once per working day, not every minute"

        clock.advance(timedelta(hours=15, minutes=58))  # Tuesday 08:59: the night does not count
        assert await sweep() == 0
        clock.advance(timedelta(hours=8, minutes=2))  # Tuesday 17:01
        staff.mark()
        assert await sweep() == 1
        assert "(raised 2×)" in (await staff.wait_for_text("has waited")).text

        await staff_says(staff, telegram, GUIDE, "So sorry for the wait.", only_topic(staff), answer_in=user)
        clock.advance(timedelta(days=3))
        assert await sweep() == 0, "answered: no longer raised"

    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            [ticket] = session.exec(select(Ticket)).all()
            assert ticket.raised_count == 2 and ticket.answered_at is None, "open until marked answered"
    finally:
        database.dispose()


async def test_edits_are_mirrored_both_ways(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, ManualClock()):
        await with_guide(staff, telegram)
        user = telegram.user(5007)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "I walked for 5 minutes")
        thread = only_topic(staff)
        patient_message = next(m for m in user.sent if m.text == "I walked for 5 minutes")

        user.edit(patient_message.message_id, "I walked for 15 minutes")
        await telegram.wait_for(lambda: copies(staff, thread)[0].edits == 1)
        [copy] = copies(staff, thread)
        assert copy.text == "I walked for 15 minutes" and copy.edits == 1
        assert copy.labels == [DONE], "still open: the button stays"

        await staff_says(staff, telegram, GUIDE, "Great, well done", thread, answer_in=user)
        guide_message = staff.sent[-1]
        staff.edit(GUIDE, guide_message.message_id, "Great, well done! 🌱")
        await telegram.wait_for(lambda: last(user).edits == 1)
        assert last(user).text == "💬 Your guide\nGreat, well done! 🌱" and last(user).edits == 1

        user.mark()
        user.edit(patient_message.message_id, "honestly I want to die")
        await user.wait_for_text("not watched around the clock")  # edits are checked for crisis language too
        alert = await staff.wait_for_text("URGENT")
        assert alert.thread_id is None, "in the main thread, for everyone"
        assert alert.labels == ["✅ Acknowledge", "📋 Safety protocol"]
        await telegram.wait_for(lambda: any("urgent alert was raised" in m.text for m in staff.topic_messages(thread)))


async def test_check_ins_notes_and_the_patient_view(telegram: FakeTelegram, tmp_path: Path) -> None:
    clock = ManualClock()
    settings = settings_for(telegram, tmp_path, admin_ids=(ADMIN,))
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings, clock):
        await with_guide(staff, telegram)
        user = telegram.user(5008)
        await enrol(user, telegram)
        await ask_guide(user, telegram, staff, "Can we talk on the phone?")
        thread = only_topic(staff)

        await staff_says(staff, telegram, GUIDE, "/checkin P-0001 phone 15")
        assert staff.messages[-1].text.startswith("📞 P-0001: phone contact of 15 min logged. Total so far: 15 min.")
        await staff_says(staff, telegram, GUIDE, "/checkin message 5", thread)  # in the topic: no code needed
        assert "Total so far: 20 min." in staff.messages[-1].text
        assert staff.messages[-1].thread_id == thread, "answered where it was asked"
        await staff_says(staff, telegram, GUIDE, "/checkin P-0001 phone lots")
        assert staff.messages[-1].text.startswith("How to use it: /checkin")
        await staff_says(staff, telegram, GUIDE, "/note P-0001 Worried about sleep; review pacing next week")
        assert staff.messages[-1].text == "📝 Note saved for P-0001."
        await staff_says(staff, telegram, GUIDE, "/patient P-0042")
        assert staff.messages[-1].text == "There is no patient P-0042."

        await staff_says(staff, telegram, GUIDE, "/patient P-0001")
        view = staff.messages[-1].text
        assert "Lessons done: none" in view
        assert "Open conversation: waiting" in view
        assert "Last contact: message, 5 min" in view
        assert "Clinician time: 20 min" in view
        assert "Worried about sleep" in view

        await staff_says(staff, telegram, COORDINATOR, "/report")
        assert staff.messages[-1].text == (
            "Clinician time\n• P-0001: 20 min in 2 contact(s) · by week: w1 20\n"
            "Total: 20 min, 20 min a patient on average."
        )
        await staff_says(staff, telegram, GUIDE, "/report")
        assert staff.messages[-1].text == "Sorry, /report is for coordinators only."

        clock.advance(timedelta(days=8))
        await staff_says(staff, telegram, GUIDE, "/queue")
        queue = staff.messages[-1].text
        assert "P-0001: waiting 8 d 0 h" in queue
        assert "Due a weekly check-in\n• P-0001: no contact for 8 d 0 h" in queue

    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            assert [c.minutes for c in session.exec(select(StaffContact)).all()] == [15, 5]
            assert len(session.exec(select(ClinicalNote)).all()) == 1
        notes = [e for e in audit_log(settings.database_url) if e.action == "note_added"]
        assert notes and "sleep" not in str(notes[0].detail), "the audit log has no note text"
    finally:
        database.dispose()


async def test_a_question_before_consent_goes_into_the_patients_topic(telegram: FakeTelegram, tmp_path: Path) -> None:
    staff = telegram.group(STAFF_CHAT, "Guides", is_forum=True)
    async with running_coach(settings_for(telegram, tmp_path)):
        user = telegram.user(5009, "Bea")
        user.send_command("/start")
        await user.wait_for_buttons(timeout=10)
        await settle(telegram)
        for _ in range(12):
            if any("I have a question" in label for label in last(user).labels):
                break
            await tap(user, telegram, last(user).labels[0])
        await tap(user, telegram, "I have a question")
        await say(user, telegram, "Will my GP see my answers?")
        await telegram.wait_for(lambda: len(staff.topics) == 1)
        thread = only_topic(staff)
        await telegram.wait_for(lambda: len(staff.topic_messages(thread)) == 2)
        card, question = staff.topic_messages(thread)
        assert "Started: not yet (still enrolling)" in card.text
        assert "asked a question before consenting" in question.text and "GP" in question.text
        assert staff.topics[thread] == "P-0001 🟢", "a note for the guides, not a conversation"


async def test_the_desk_is_built_only_with_a_staff_chat(telegram: FakeTelegram, tmp_path: Path) -> None:
    without = TelegramCoach.build(settings_for(telegram, tmp_path, staff_chat_id=None))
    try:
        assert without.services.desk is None
    finally:
        without.database.dispose()
