"""How each answer of the Bot API is understood by each adapter's delivery (aiogram, python-telegram-bot),
against the fake server: the same answer ends the same way whichever framework made the call."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

import pytest

from bot import aiogram, ptb
from bot.transport import (
    Blocked,
    Delivered,
    MenuCommand,
    Rejected,
    RetryAfter,
    TelegramApi,
    TopicGone,
    Transient,
    Unavailable,
)
from sandbox.botapi import FakeTelegram
from storage.payloads import (
    Copy,
    CreateTopic,
    DeleteTopic,
    Document,
    Edit,
    EditButtons,
    Message,
    Photo,
    RenameTopic,
    Where,
    forgets,
    payload_from,
    to_json,
)

CHAT = 2024


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.user(CHAT)
        yield fake


@pytest.fixture(params=["aiogram", "ptb"])
async def transport(request: pytest.FixtureRequest, telegram: FakeTelegram) -> AsyncIterator[TelegramApi]:
    api: TelegramApi
    if request.param == "aiogram":
        api = aiogram.AiogramApi(aiogram.make_bot(telegram.token, telegram.base_url, timeout=1.0))
    else:
        api = ptb.PtbApi(ptb.make_bot(telegram.token, telegram.base_url, timeout=1.0))
    yield api
    await api.close()


MESSAGE = Message("Hello <b>there</b>", (("Go on", "1:next"),))


async def test_a_message_with_buttons_is_delivered_in_html(telegram: FakeTelegram, transport: TelegramApi) -> None:
    result = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(result, Delivered)
    sent = telegram.user(CHAT).messages[-1]
    assert sent.message_id == result.message_id
    assert sent.text == "Hello there"
    assert sent.buttons == [[("Go on", "1:next")]]


async def test_an_edit_removes_the_buttons(telegram: FakeTelegram, transport: TelegramApi) -> None:
    sent = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(sent, Delivered)
    edited = await transport.deliver(CHAT, Edit("Hello\n\n<i>» Go on</i>", message_id=sent.message_id))
    assert isinstance(edited, Delivered)
    assert telegram.user(CHAT).messages[-1].buttons == []
    again = await transport.deliver(CHAT, Edit("Hello\n\n<i>» Go on</i>", message_id=sent.message_id))
    assert isinstance(again, Delivered), "'message is not modified' means it is already as we want it"


@pytest.mark.parametrize(
    ("code", "description", "retry_after", "expected"),
    [
        (429, "Too Many Requests: retry after 7", 7, RetryAfter(7.0)),
        (500, "Internal Server Error", None, Transient),
        (502, "Bad Gateway", None, Transient),
        (403, "Forbidden: bot was blocked by the user", None, Blocked),
        (403, "Forbidden: user is deactivated", None, Blocked),
        (400, "Bad Request: chat not found", None, Rejected),
    ],
)
async def test_each_failure_is_classified(
    telegram: FakeTelegram,
    transport: TelegramApi,
    code: int,
    description: str,
    retry_after: int | None,
    expected: object,
) -> None:
    telegram.fail_next("sendMessage", error_code=code, description=description, retry_after=retry_after)
    result = await transport.deliver(CHAT, MESSAGE)
    if isinstance(expected, type):
        assert isinstance(result, expected)
    else:
        assert result == expected


async def test_a_timeout_is_transient(telegram: FakeTelegram, transport: TelegramApi) -> None:
    telegram.delay_next("sendMessage", 1.5)
    result = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(result, Transient)


async def test_html_telegram_refuses_is_rejected_not_retried(transport: TelegramApi) -> None:
    result = await transport.deliver(CHAT, Message("<div>unsupported</div>"))
    assert isinstance(result, Rejected)


# -- everything else the coach asks of Telegram, the same through either adapter ----------------

STAFF = -1009001
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


async def test_photos_copies_and_button_edits(telegram: FakeTelegram, transport: TelegramApi, forum: int) -> None:
    photo = await transport.deliver(
        CHAT, Photo(caption="Your <b>scores</b>", png_base64=PNG, buttons=(("OK", "1:ok"),))
    )
    assert isinstance(photo, Delivered)
    shown = telegram.user(CHAT).messages[-1]
    assert shown.photo and shown.photo_data == base64.b64decode(PNG)
    assert (shown.text, shown.buttons) == ("Your scores", [[("OK", "1:ok")]])
    telegram.user(CHAT).send_text("a note for my guide")
    mine = telegram.user(CHAT).sent[-1].message_id
    copied = await transport.deliver(STAFF_GROUP, Copy(CHAT, mine, buttons=(("Mark answered", "done:1"),)))
    assert isinstance(copied, Delivered)
    assert telegram.messages(STAFF_GROUP)[-1].text == "a note for my guide"
    assert isinstance(await transport.deliver(CHAT, EditButtons((), message_id=photo.message_id)), Delivered)
    assert telegram.user(CHAT).messages[-1].buttons == []
    caption = await transport.deliver(CHAT, Edit("Your <i>scores</i>", message_id=photo.message_id, caption=True))
    assert isinstance(caption, Delivered)
    assert telegram.user(CHAT).messages[-1].html == "Your <i>scores</i>"


STAFF_GROUP = -1009002


@pytest.fixture
def forum(telegram: FakeTelegram) -> int:
    telegram.group(STAFF, "Guides", is_forum=True)
    telegram.group(STAFF_GROUP, "Plain group")
    return STAFF


async def test_forum_topics_are_made_renamed_and_reported_gone(
    telegram: FakeTelegram, transport: TelegramApi, forum: int
) -> None:
    assert await transport.is_forum(forum)
    assert not await transport.is_forum(STAFF_GROUP)
    made = await transport.deliver(forum, CreateTopic("P-0001 🔴"))
    assert isinstance(made, Delivered) and made.message_id is not None
    thread = made.message_id
    assert telegram.group(forum, "Guides").topics[thread] == "P-0001 🔴"
    assert isinstance(await transport.deliver(forum, RenameTopic("P-0001 🟢", Where(thread))), Delivered)
    assert telegram.group(forum, "Guides").topics[thread] == "P-0001 🟢"
    sent = await transport.deliver(forum, Message("in the topic", where=Where(thread)))
    assert isinstance(sent, Delivered)
    assert telegram.messages(forum)[-1].thread_id == thread
    telegram.group(forum, "Guides").delete_topic(thread)
    assert isinstance(await transport.deliver(forum, Message("again", where=Where(thread))), TopicGone)


async def test_an_erased_patients_topic_is_deleted_with_its_messages(
    telegram: FakeTelegram, transport: TelegramApi, forum: int
) -> None:
    made = await transport.deliver(forum, CreateTopic("P-0001"))
    assert isinstance(made, Delivered) and made.message_id is not None
    thread, other = made.message_id, await transport.deliver(forum, CreateTopic("P-0002"))
    await transport.deliver(forum, Message("their words, copied", where=Where(thread)))
    delete = payload_from("topic_delete", to_json(DeleteTopic(thread)))  # as the outbox stores it
    assert delete == DeleteTopic(thread) and forgets(delete), "its row is deleted once sent"
    assert isinstance(await transport.deliver(forum, delete), Delivered)
    group = telegram.group(forum, "Guides")
    assert thread not in group.topics and not group.topic_messages(thread)
    assert isinstance(other, Delivered) and other.message_id in group.topics, "the others' topics stay"
    assert isinstance(await transport.deliver(forum, delete), Delivered), "already gone (staff deleted it): done"


async def test_menus_taps_and_webhooks(telegram: FakeTelegram, transport: TelegramApi, forum: int) -> None:
    assert await transport.get_me() == "paincoach_test_bot"
    await transport.set_commands([MenuCommand("help", "What I can do")], language="en")
    assert telegram.commands({"type": "all_private_chats"}, "en") == [
        {"command": "help", "description": "What I can do"}
    ]
    await transport.set_commands([MenuCommand("queue", "Waiting patients")], chat_id=forum)
    assert telegram.commands({"type": "chat", "chat_id": forum}) == [
        {"command": "queue", "description": "Waiting patients"}
    ]
    sent = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(sent, Delivered)
    query = telegram.user(CHAT).press("Go on")
    await transport.answer_callback(query, "Saved")
    assert (await telegram.wait_answered(query)).get("text") == "Saved"
    await transport.answer_callback(query, "twice")  # already answered: logged, never raised
    await transport.set_webhook("http://127.0.0.1:9/hook", "s3cret", ("message", "callback_query"))
    assert telegram.webhook_url == "http://127.0.0.1:9/hook"
    await transport.delete_webhook()
    assert telegram.webhook_url is None


async def test_updates_come_as_the_bot_apis_json(telegram: FakeTelegram, transport: TelegramApi) -> None:
    telegram.user(CHAT).send_text("hello")
    telegram.queue_update({"message": {"message_id": 99, "chat": "not a chat"}})  # no framework could read this
    updates = await transport.get_updates(None, 1, ("message", "edited_message", "callback_query"))
    assert [u["message"]["text"] for u in updates[:1]] == ["hello"]
    assert updates[1]["message"]["chat"] == "not a chat"
    assert await transport.get_updates(updates[-1]["update_id"] + 1, 0, ("message",)) == []
    telegram.fail_next("getUpdates", error_code=502, description="Bad Gateway")
    with pytest.raises(Unavailable):
        await transport.get_updates(None, 0, ("message",))


async def test_a_failed_typing_indicator_does_not_stop_the_message(
    telegram: FakeTelegram, transport: TelegramApi
) -> None:
    telegram.fail_next("sendChatAction", error_code=500, description="Internal Server Error")
    result = await transport.deliver(CHAT, Message("Here you are", typing=True))
    assert isinstance(result, Delivered)
    assert telegram.user(CHAT).messages[-1].text == "Here you are"


async def test_each_adapter_calls_through_its_own_framework(
    telegram: FakeTelegram, transport: TelegramApi, request: pytest.FixtureRequest
) -> None:
    await transport.get_me()
    await transport.deliver(CHAT, MESSAGE)
    agents = {call.user_agent for call in telegram.calls}
    library = "python-telegram-bot" if isinstance(transport, ptb.PtbApi) else "aiogram"
    assert len(agents) == 1 and library in agents.pop().lower()


async def test_neither_what_patients_write_nor_the_token_reaches_the_log(
    telegram: FakeTelegram, transport: TelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram.user(CHAT).send_text("PRIVATE-WORDS")
    updates = await transport.get_updates(None, 0, ("message",))
    assert updates[0]["message"]["text"] == "PRIVATE-WORDS"
    await transport.deliver(CHAT, Message("PRIVATE-ANSWER"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("PRIVATE-WORDS", "PRIVATE-ANSWER", telegram.token):
        assert secret not in logged


async def test_a_document_is_uploaded_with_its_name_and_caption(telegram: FakeTelegram, transport: TelegramApi) -> None:
    pdf = b"%PDF-1.4 a lesson's key points"
    sent = await transport.deliver(
        CHAT, Document("lesson-1.pdf", base64.b64encode(pdf).decode(), "Lesson 1: <b>key points</b>")
    )
    assert isinstance(sent, Delivered)
    shown = telegram.user(CHAT).messages[-1]
    assert shown.document is not None and shown.document["file_name"] == "lesson-1.pdf"
    assert shown.document_data == pdf
    assert shown.text == "Lesson 1: key points"
