"""Reading stored Bot API updates into inbound events (bot/inbound.py) and entities into HTML
(bot/html.py): plain functions, no framework, checked against what aiogram would make of them."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import MessageEntity
from aiogram.utils.text_decorations import html_decoration
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.html import entities_to_html
from bot.inbound import (
    Ignored,
    PatientEdit,
    PatientMessage,
    PatientTap,
    StaffEdit,
    StaffMessage,
    StaffTap,
    Unreadable,
    chat_of,
    read_update,
)
from dialogs.events import Command, NotText, Press, Start, Text

STAFF = -100777
ANNA = {"id": 42, "is_bot": False, "first_name": "Anna", "last_name": "Lee", "language_code": "de"}
GUIDE = {"id": 7, "is_bot": False, "first_name": "Gita"}


def private(**fields: Any) -> dict[str, Any]:
    return {"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": {"id": 42, "type": "private"},
                                        "from": ANNA, **fields}}  # fmt: skip


def staff_message(**fields: Any) -> dict[str, Any]:
    chat = {"id": STAFF, "type": "supergroup", "is_forum": True}
    return {"update_id": 2, "message": {"message_id": 9, "date": 0, "chat": chat, "from": GUIDE, **fields}}


def test_a_patients_text_command_deep_link_and_photo() -> None:
    text = read_update(private(text="I feel better"), STAFF)
    assert isinstance(text, PatientMessage) and text.event == Text("I feel better", 5)
    assert text.person.user_id == 42 and text.person.chat_id == 42 and text.person.language_code == "de"
    assert read_update(private(text="/lesson@paincoach_bot now"), STAFF).event == Command("lesson", "now", 5)  # type: ignore[union-attr]
    assert read_update(private(text="/start invite-123"), STAFF).event == Start("invite-123")  # type: ignore[union-attr]
    photo = read_update(private(photo=[{"file_id": "x"}], caption="my diary"), STAFF)
    assert isinstance(photo, PatientMessage) and photo.event == NotText(5, "my diary", "photo")


def test_a_poll_or_a_field_added_later_is_just_not_text() -> None:
    """A message aiogram could not decode (an older server's poll, lacking newer fields) is still read."""
    poll = read_update(private(poll={"id": "1", "question": "?", "options": []}, some_new_field={"x": 1}), STAFF)
    assert isinstance(poll, PatientMessage) and poll.event == NotText(5, "", "other")


def test_taps_in_each_chat() -> None:
    query = {"id": "q1", "from": ANNA, "data": "3:next", "chat_instance": "1",
             "message": {"message_id": 11, "date": 0, "chat": {"id": 42, "type": "private"}}}  # fmt: skip
    tap = read_update({"update_id": 3, "callback_query": query}, STAFF)
    assert isinstance(tap, PatientTap) and tap.press == Press("3:next", 11) and tap.query_id == "q1"
    forged = read_update({"update_id": 3, "callback_query": {**query, "data": "ack:1"}}, STAFF)
    assert forged == PatientTap(tap.person, "q1", Press("ack:1", 11)), "a patient's forgery: refused and audited"
    in_staff = {**query, "from": GUIDE, "data": "ack:4",
                "message": {"message_id": 12, "date": 0, "chat": {"id": STAFF, "type": "supergroup"}}}  # fmt: skip
    assert read_update({"update_id": 4, "callback_query": in_staff}, STAFF) == StaffTap(
        "q1", 7, "Gita", "ack:4", 12, None
    )
    elsewhere = {**query, "message": {"message_id": 1, "date": 0, "chat": {"id": -5, "type": "group"}}}
    assert isinstance(read_update({"update_id": 5, "callback_query": elsewhere}, STAFF), Ignored)


def test_staff_posts_commands_edits_and_service_messages() -> None:
    reply = read_update(staff_message(text="Try a shorter walk", message_thread_id=77, is_topic_message=True,
                                      reply_to_message={"message_id": 77}), STAFF)  # fmt: skip
    assert isinstance(reply, StaffMessage) and reply.command is None
    assert reply.post.thread_id == 77 and reply.post.reply_to is None, "the topic's first message is no reply"
    command = read_update(staff_message(text="/checkin P-0001 phone 15"), STAFF)
    assert isinstance(command, StaffMessage) and command.command == Command("checkin", "P-0001 phone 15")
    assert isinstance(read_update(staff_message(forum_topic_created={"name": "x"}), STAFF), Ignored)
    by_bot = staff_message(text="hello", **{"from": {"id": 1, "is_bot": True, "first_name": "bot"}})
    assert isinstance(read_update(by_bot, STAFF), Ignored)
    edit = staff_message(text="edited")
    assert isinstance(read_update({"update_id": 6, "edited_message": edit["message"]}, STAFF), StaffEdit)
    patient_edit = read_update({"update_id": 7, "edited_message": private(text="new words")["message"]}, STAFF)
    assert isinstance(patient_edit, PatientEdit) and patient_edit.written == "new words" and not patient_edit.is_caption


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": "not an object"},
        {"update_id": 1, "message": {"message_id": 5, "chat": {"type": "private"}}},
        {"update_id": 1, "message": {"message_id": 5, "chat": {"id": 42, "type": "private"}, "from": ANNA, "text": 3}},
        {"update_id": 1, "callback_query": {"id": "q", "data": "x"}},
        {"update_id": 1, "edited_message": {"message_id": "five", "chat": {"id": 42, "type": "private"}, "from": ANNA}},
    ],
)
def test_a_malformed_update_is_unreadable_and_says_where_not_what(update: dict[str, Any]) -> None:
    with pytest.raises(Unreadable) as problem:
        read_update(update, STAFF)
    assert "Anna" not in str(problem.value) and "42" not in str(problem.value)


def test_updates_the_coach_did_not_ask_for_are_ignored_and_chats_are_found() -> None:
    assert isinstance(read_update({"update_id": 1, "channel_post": {}}, STAFF), Ignored)
    assert chat_of(private(text="x")) == 42
    assert chat_of({"update_id": 1, "message": "broken"}) is None


# -- entities to HTML -------------------------------------------------------------------------

KINDS = ["bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link", "blockquote",
         "mention", "hashtag", "url"]  # fmt: skip


@st.composite
def texts_with_entities(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """A text (emoji and all, whose UTF-16 lengths differ) and properly nested entities over it."""
    text = draw(st.text(alphabet=st.sampled_from("ab <&>\n🙂é"), min_size=1, max_size=30))
    size = len(text.encode("utf-16-le")) // 2
    boundaries = [0]
    position = 0
    for char in text:
        position += len(char.encode("utf-16-le")) // 2
        boundaries.append(position)
    entities: list[dict[str, Any]] = []

    def nest(start: int, end: int, depth: int) -> None:
        if depth > 2:
            return
        inside = [b for b in boundaries if start <= b <= end]
        for _ in range(draw(st.integers(0, 2))):
            if len(inside) < 2:
                return
            a, b = sorted(draw(st.lists(st.sampled_from(inside), min_size=2, max_size=2, unique=True)))
            if any(not (b <= e["offset"] or a >= e["offset"] + e["length"]) for e in entities if e["_depth"] == depth):
                continue  # siblings do not overlap
            kind = draw(st.sampled_from(KINDS))
            entity = {"type": kind, "offset": a, "length": b - a, "_depth": depth}
            if kind == "text_link":
                entity["url"] = "https://example.org/a"
            entities.append(entity)
            nest(a, b, depth + 1)

    nest(0, size, 0)
    return text, entities


@settings(max_examples=300, deadline=None)
@given(texts_with_entities())
def test_entities_become_the_same_html_aiogram_makes(sample: tuple[str, list[dict[str, Any]]]) -> None:
    text, entities = sample
    clean = [{k: v for k, v in e.items() if k != "_depth"} for e in entities]
    theirs = html_decoration.unparse(text, [MessageEntity(**e) for e in clean])
    assert entities_to_html(text, clean) == theirs


def test_attributes_are_escaped_and_unknown_kinds_stay_text() -> None:
    link = [{"type": "text_link", "offset": 0, "length": 4, "url": 'https://x.org/?a=1&b="2"'}]
    assert entities_to_html("here", link) == '<a href="https://x.org/?a=1&amp;b=&quot;2&quot;">here</a>'
    assert entities_to_html("<hi>", [{"type": "date_time", "offset": 0, "length": 4}]) == "&lt;hi&gt;"
    assert entities_to_html("x", [{"type": "bold", "offset": 0, "length": 9}]) == "<b>x</b>", "cut at the end"
