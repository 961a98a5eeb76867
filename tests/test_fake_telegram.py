"""Tests of the fake Telegram Bot API server, driven by real aiogram and python-telegram-bot clients."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiohttp import web

from tests.fakes.telegram import FakeTelegram, HtmlParseError, normalise_params, parse_html


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    async with Bot(tg.token, session=session) as client:
        yield client


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


async def raw_call(tg: FakeTelegram, method: str, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}/bot{token or tg.token}/{method}"
        async with http.post(url, **kwargs) as response:
            return response.status, await response.json()


# ---- server basics ---------------------------------------------------------


@pytest.mark.asyncio
async def test_listens_only_on_localhost_and_answers_get_me(tg: FakeTelegram, bot: Bot) -> None:
    assert tg.base_url.startswith("http://127.0.0.1:")
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (tg.bot_id, "paincoach_test_bot", True)
    assert tg.calls[-1].method == "getMe" and tg.calls[-1].ok


@pytest.mark.asyncio
async def test_wrong_token_unknown_method_and_method_case(tg: FakeTelegram) -> None:
    status, body = await raw_call(tg, "getMe", token="1:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw_call(tg, "sendTeleport")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    async with aiohttp.ClientSession() as http, http.get(f"{tg.base_url}/bot{tg.token}/GETME") as response:
        assert (response.status, (await response.json())["result"]["id"]) == (200, tg.bot_id)
    assert [c.method for c in tg.calls] == ["getMe", "sendTeleport", "getMe"]


@pytest.mark.asyncio
async def test_parameters_arrive_in_every_encoding(tg: FakeTelegram) -> None:
    user = tg.user(7)
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    await raw_call(tg, "sendMessage", params={"chat_id": "7", "text": "query"})
    await raw_call(tg, "sendMessage", json={"chat_id": 7, "text": "json", "reply_markup": {"inline_keyboard": []}})
    await raw_call(tg, "sendMessage", data={"chat_id": "7", "text": "[1, 2]", "reply_markup": markup})
    form = aiohttp.FormData()
    form.add_field("chat_id", "7")
    form.add_field("text", "multipart")
    form.add_field("disable_notification", "true")
    form.add_field("file", b"bytes", filename="x.bin")
    await raw_call(tg, "sendMessage", data=form)
    assert [m.text for m in user.messages] == ["query", "json", "[1, 2]", "multipart"]
    assert user.messages[2].buttons == [[("A", "a")]]
    assert tg.calls[-1].params["disable_notification"] is True
    assert all(c.chat_id == 7 for c in tg.calls)


def test_normalise_params() -> None:
    assert normalise_params(
        {"chat_id": "-100", "offset": "5", "text": "{not json", "show_alert": "true", "scope": '{"type": "default"}'}
    ) == {"chat_id": -100, "offset": 5, "text": "{not json", "show_alert": True, "scope": {"type": "default"}}
    assert normalise_params({"text": '{"a": 1}', "chat_id": "@channel"}) == {"text": '{"a": 1}', "chat_id": "@channel"}


# ---- HTML ------------------------------------------------------------------


def test_parse_html_strips_tags_and_decodes_entities() -> None:
    text, entities = parse_html('<b>Hi</b> &lt;you&gt; &amp; <a href="https://x.org">me</a> &#128512;&#x21;')
    assert text == "Hi <you> & me 😀!"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 11, "length": 2, "url": "https://x.org"},
    ]
    text, entities = parse_html('<span class="tg-spoiler">s</span><pre><code class="language-py">x</code></pre>')
    assert text == "sx"
    assert entities[1] == {"type": "pre", "offset": 1, "length": 1, "language": "py"}
    assert parse_html("<blockquote expandable>q</blockquote> & done")[1][0]["type"] == "expandable_blockquote"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_parse_html_errors(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


# ---- sending and editing ---------------------------------------------------


@pytest.mark.asyncio
async def test_send_message_records_plain_text_html_buttons_and_ids(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42, "Anna")
    first = await bot.send_message(42, "<b>Hello</b> &amp; welcome", parse_mode="HTML")
    second = await bot.send_message(
        42,
        "Pick one",
        reply_markup=keyboard([("Yes", "y"), ("No", "n")]),
        reply_parameters=ReplyParameters(message_id=1),
    )
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.text == "Hello & welcome" and first.entities and first.entities[0].type == "bold"
    assert first.chat.id == 42 and first.from_user and first.from_user.id == tg.bot_id
    assert second.reply_to_message and second.reply_to_message.message_id == 1
    assert [m.text for m in user.messages] == ["Hello & welcome", "Pick one"]
    assert user.messages[0].html == "<b>Hello</b> &amp; welcome"
    assert user.last_message is not None and user.last_message.buttons == [[("Yes", "y"), ("No", "n")]]
    assert user.buttons() == [[("Yes", "y"), ("No", "n")]]
    assert tg.calls_of("sendmessage")[0].params["parse_mode"] == "HTML"


@pytest.mark.asyncio
async def test_group_and_forum_messages(tg: FakeTelegram, bot: Bot) -> None:
    staff = tg.group(-1001234, "Guides", is_forum=True)
    topic = await bot.create_forum_topic(-1001234, "P-0001")
    thread = topic.message_thread_id
    sent = await bot.send_message(-1001234, "New question", message_thread_id=thread)
    assert sent.chat.type == "supergroup" and sent.message_thread_id == thread and sent.is_topic_message
    assert [(m.text, m.thread_id) for m in staff.messages] == [("New question", thread)]
    update_id = staff.send_text(
        77, "/reply@paincoach_test_bot hi", thread_id=thread, reply_to_message_id=sent.message_id
    )
    [update] = await bot.get_updates()
    assert update.update_id == update_id and update.message is not None
    assert update.message.chat.id == -1001234 and update.message.message_thread_id == thread
    assert update.message.reply_to_message and update.message.reply_to_message.text == "New question"
    assert update.message.entities and update.message.entities[0].length == len("/reply@paincoach_test_bot")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-999, "nobody here")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": ""}, "message text is empty"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "message text is empty"),
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "<i>x</i>" * 4097, "parse_mode": "HTML"}, "message is too long"),
        ({"text": "1 < 2", "parse_mode": "HTML"}, "can't parse entities: Unsupported start tag"),
        ({"text": "<b>x", "parse_mode": "HTML"}, "can't parse entities: Can't find end tag"),
        ({"text": "x", "reply_markup": keyboard([("A", "a" * 65)])}, "BUTTON_DATA_INVALID"),
        ({"text": "x", "reply_parameters": ReplyParameters(message_id=99)}, "message to be replied not found"),
    ],
)
@pytest.mark.asyncio
async def test_send_message_is_validated_like_telegram(
    tg: FakeTelegram, bot: Bot, kwargs: dict[str, Any], error: str
) -> None:
    tg.user(42)
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_message(42, **kwargs)
    assert tg.messages(42) == []
    assert not tg.calls[-1].ok and tg.calls[-1].error_code == 400


@pytest.mark.asyncio
async def test_limits_are_inclusive(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    await bot.send_message(42, "<i>é</i>" * 4096, parse_mode="HTML", reply_markup=keyboard([("A", "ü" * 32)]))
    assert len(user.messages[0].text) == 4096


@pytest.mark.asyncio
async def test_edit_message_text_and_markup(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    sent = await bot.send_message(42, "Question 1", reply_markup=keyboard([("A", "a")]))
    edited = await bot.edit_message_text(
        text="<b>Question 2</b>",
        chat_id=42,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard([("B", "b")]),
    )
    assert isinstance(edited, Message) and edited.text == "Question 2" and edited.edit_date
    [message] = user.messages
    assert (message.text, message.html, message.buttons, message.edits) == (
        "Question 2",
        "<b>Question 2</b>",
        [[("B", "b")]],
        1,
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text(
            text="<strong>Question 2</strong>",
            chat_id=42,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard([("B", "b")]),
        )
    await bot.edit_message_text(text="Question 2", chat_id=42, message_id=sent.message_id)  # drops entities + keyboard
    assert user.messages[0].buttons == [] and user.messages[0].edits == 2
    await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id, reply_markup=keyboard([("C", "c")]))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id, reply_markup=keyboard([("C", "c")]))
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=42, message_id=99)
    user.send_text("mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(text="x", chat_id=42, message_id=2)
    assert user.messages[0].buttons == [[("C", "c")]] and user.messages[0].edits == 3
    assert message.text == "Question 2" and message.edits == 1, "a FakeMessage is a snapshot"


@pytest.mark.asyncio
async def test_blocked_user(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    sent = await bot.send_message(42, "hello")
    user.blocked = True
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(42, "again")
    with pytest.raises(TelegramForbiddenError):
        await bot.edit_message_text(text="changed", chat_id=42, message_id=sent.message_id)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(42, "typing")
    user.blocked = False
    await bot.send_message(42, "unblocked")
    assert [m.text for m in user.messages] == ["hello", "unblocked"]


@pytest.mark.asyncio
async def test_chat_action_and_commands(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(42)
    assert await bot.send_chat_action(42, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await raw_call_bot_action(tg)
    commands = [BotCommand(command="start", description="Begin"), BotCommand(command="help", description="Help")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands([BotCommand(command="start", description="Anfang")], language_code="de")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert tg.commands(language_code="de") == [{"command": "start", "description": "Anfang"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert await bot.close() and await bot.log_out()


async def raw_call_bot_action(tg: FakeTelegram) -> None:
    status, body = await raw_call(tg, "sendChatAction", json={"chat_id": 42, "action": "dancing"})
    assert status == 400
    raise TelegramBadRequest(method=None, message=body["description"])  # type: ignore[arg-type]


# ---- updates and callback queries -----------------------------------------


@pytest.mark.asyncio
async def test_long_poll_returns_as_soon_as_an_update_is_queued(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42, "Anna", "de")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10, allowed_updates=["message", "callback_query"]))
    await tg.wait_for(lambda: bool(tg.calls_of("getUpdates")))
    assert not tg.calls_of("getUpdates")[0].finished, "recorded on arrival"
    update_id = user.send_command("/start", "ref42")
    [update] = await poll
    assert time.monotonic() - started < 2
    assert update.update_id == update_id and update.message is not None
    assert update.message.text == "/start ref42"
    assert update.message.from_user and update.message.from_user.language_code == "de"
    assert update.message.entities and (update.message.entities[0].type, update.message.entities[0].length) == (
        "bot_command",
        6,
    )


@pytest.mark.asyncio
async def test_updates_stay_until_an_offset_confirms_them(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    ids = [user.send_text(f"m{i}") for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates()] == ids, "not confirmed yet: a crashed bot gets them again"
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert await bot.get_updates(offset=ids[2] + 1) == []
    assert tg.pending_updates == []
    assert await bot.get_updates(timeout=0) == []


@pytest.mark.asyncio
async def test_a_newer_poll_ends_the_older_one(tg: FakeTelegram, bot: Bot) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    async with Bot(tg.token, session=session) as other:
        old = asyncio.create_task(bot.get_updates(timeout=10))
        await tg.wait_for(lambda: len(tg.calls_of("getUpdates")) == 1)
        new = asyncio.create_task(other.get_updates(timeout=10))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await old
        tg.user(1).send_text("hi")
        assert len(await new) == 1


@pytest.mark.asyncio
async def test_a_killed_client_is_handed_nothing_and_set_webhook_ends_a_poll(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    async with aiohttp.ClientSession() as http:
        dead = asyncio.create_task(http.post(f"{tg.api_url}/getUpdates", json={"timeout": 10}))
        await tg.wait_for(lambda: len(tg.calls_of("getUpdates")) == 1)
        dead.cancel()  # the connection drops, as when the bot process is killed
        with pytest.raises(asyncio.CancelledError):
            await dead
    await asyncio.sleep(0.05)  # the server notices the closed connection
    update_id = user.send_text("sent while the bot was down")  # wakes the orphaned long poll
    with pytest.raises(AssertionError, match="1 update"):
        await tg.settle(quiet=0.05, timeout=0.3)
    assert tg.calls_of("getUpdates")[0].result == []
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    poll = asyncio.create_task(bot.get_updates(offset=update_id + 1, timeout=10))
    await tg.wait_for(lambda: len(tg.calls_of("getUpdates")) == 3)
    await raw_call(tg, "setWebhook", json={"url": "http://127.0.0.1:9/unused"})
    with pytest.raises(TelegramConflictError, match="terminated by setWebhook request"):
        await poll


@pytest.mark.asyncio
async def test_press_and_answer_callback_query(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    await bot.send_message(42, "first", reply_markup=keyboard([("Old", "old")]))
    await bot.send_message(
        42, "How strong is your pain?", reply_markup=keyboard([("Mild", "pain:1"), ("Severe", "pain:3")])
    )
    await bot.send_message(42, "no buttons here")
    query_id = user.press("Severe")
    by_data = user.press("pain:1")
    older = user.press("Old", message_id=1)
    with pytest.raises(AssertionError, match=r"available buttons: \[\('Mild', 'pain:1'\), \('Severe', 'pain:3'\)\]"):
        user.press("Moderate")
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates]
    assert [q.id for q in queries if q] == [query_id, by_data, older]
    query = queries[0]
    assert isinstance(query, CallbackQuery) and query.data == "pain:3" and query.from_user.id == 42
    assert isinstance(query.message, Message) and query.message.text == "How strong is your pain?"
    assert await bot.answer_callback_query(query_id, text="Noted", show_alert=True)
    answer = await user.wait_answered(query_id)
    assert (answer["text"], answer["show_alert"]) == ("Noted", True)
    with pytest.raises(
        TelegramBadRequest, match="query is too old and response timeout expired or query ID is invalid"
    ):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(AssertionError, match="was not answered"):
        await user.wait_answered(by_data, timeout=0.1)


@pytest.mark.asyncio
async def test_waiting_helpers_and_mark(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    await bot.send_message(42, "Welcome to the coach")
    user.mark()
    assert user.new_messages == []

    async def reply_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(42, "Step <b>ONE</b>", parse_mode="HTML")
        await asyncio.sleep(0.05)
        await bot.send_message(42, "Choose", reply_markup=keyboard([("Go", "go")]))

    task = asyncio.create_task(reply_later())
    assert (await user.wait_for_text("step one")).text == "Step ONE"
    assert (await user.wait_for_buttons()).text == "Choose"
    await task
    assert [m.text for m in user.new_messages] == ["Step ONE", "Choose"]
    user.mark()
    with pytest.raises(AssertionError, match="Step ONE"):
        await user.wait_for_text("welcome", timeout=0.1)
    with pytest.raises(AssertionError, match="no new bot message with buttons"):
        await user.wait_for_buttons(timeout=0.1)
    await bot.edit_message_text(text="Choose again", chat_id=42, message_id=3, reply_markup=keyboard([("Go", "go")]))
    assert (await user.wait_for_text("again")).message_id == 3, "edits after the mark count"
    assert user.new_messages == [], "but they are not new messages"


@pytest.mark.asyncio
async def test_settle_waits_for_the_bot_to_take_updates_and_go_quiet(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    await tg.settle(quiet=0.05)
    user.send_text("hello")
    with pytest.raises(AssertionError, match="1 update"):
        await tg.settle(quiet=0.05, timeout=0.2)

    async def echo_bot() -> None:
        offset = 0
        while True:
            for update in await bot.get_updates(offset=offset, timeout=5):
                offset = update.update_id + 1
                assert update.message is not None and update.message.text
                await asyncio.sleep(0.02)
                await bot.send_message(update.message.chat.id, update.message.text.upper())

    task = asyncio.create_task(echo_bot())
    try:
        await tg.settle(quiet=0.1)
        assert [m.text for m in user.messages] == ["HELLO"]
        user.send_text("again")
        await tg.settle(quiet=0.1)
        assert [m.text for m in user.messages] == ["HELLO", "AGAIN"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# ---- failures, delays and flood control ------------------------------------


@pytest.mark.asyncio
async def test_fail_next(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    tg.user(43)
    tg.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(42, "x")
    assert caught.value.retry_after == 3
    tg.fail_next("SENDMESSAGE", error_code=502, description="Bad Gateway", count=2, chat_id=42)
    await bot.send_message(43, "other chat is fine")
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(42, "x")
    await bot.send_message(42, "through")
    assert [m.text for m in user.messages] == ["through"]
    assert [c.ok for c in tg.calls_of("sendMessage")] == [False, True, False, False, True]


@pytest.mark.asyncio
async def test_delay_next_makes_clients_time_out(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(42)
    tg.delay_next("sendMessage", 1.5)
    started = time.monotonic()
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(42, "slow", request_timeout=1)
    assert 0.9 < time.monotonic() - started < 1.5
    await tg.wait_for(lambda: len(tg.messages(42)) == 1, timeout=3)  # it still arrived, late
    await bot.send_message(42, "fast", request_timeout=1)


@pytest.mark.asyncio
async def test_rate_limit(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(1)
    tg.user(2)
    tg.rate_limit(per_chat_per_second=2, global_per_second=3)
    await bot.send_message(1, "a")
    await bot.send_message(1, "b")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1, "c")
    assert caught.value.retry_after >= 1
    assert tg.calls[-1].description == f"Too Many Requests: retry after {caught.value.retry_after}"
    await bot.send_message(2, "d")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(2, "e")  # global limit
    tg.rate_limit(None, None)
    await bot.send_message(1, "c")


# ---- webhook -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_webhook_delivery_retries_until_2xx_and_keeps_order(tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[int, str | None]] = []
    failures = {"left": 2}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        body = await request.json()
        received.append((body["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = tg.user(42)
        with pytest.raises(TelegramBadRequest, match="bad webhook"):
            await bot.set_webhook("https://example.com/hook")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret_-x")
        with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        ids = [user.send_text("one"), user.send_text("two")]
        await tg.settle(quiet=0.05)
        assert received == [(ids[0], "s3cret_-x"), (ids[1], "s3cret_-x")]
        assert [a.status for a in tg.webhook_attempts] == [500, 500, 200, 200]
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0 and info.last_error_message
        assert await bot.delete_webhook()
        third = user.send_text("three")
        assert [u.update_id for u in await bot.get_updates()] == [third]
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_webhook_reply_with_a_method_is_executed(tg: FakeTelegram, bot: Bot) -> None:
    """An aiogram dispatcher answering inside the webhook response, as handle_in_background=False does."""
    from aiogram.methods import SendMessage
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="tok").register(app, path="/wh")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://localhost:{runner.addresses[0][1]}/wh", secret_token="tok")
        user = tg.user(42)
        user.send_text("hi")
        assert (await user.wait_for_text("echo: hi")).text == "echo: hi"
        assert tg.calls_of("sendMessage")[0].ok
    finally:
        await runner.cleanup()


# ---- whole bots ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_aiogram_dispatcher_polling_in_the_same_loop(tg: FakeTelegram, bot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def on_message(message: Message) -> None:
        await message.answer("How are you?", reply_markup=keyboard([("Good", "mood:good"), ("Bad", "mood:bad")]))

    @dispatcher.callback_query()
    async def on_press(query: CallbackQuery) -> None:
        await query.answer("Thanks")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"You said {query.data}")

    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        user = tg.user(42)
        user.send_command("start")
        shown = await user.wait_for_buttons()
        user.mark()
        query = user.press("Bad")
        assert (await user.wait_answered(query))["text"] == "Thanks"
        edited = await user.wait_for_text("mood:bad")
        assert edited.message_id == shown.message_id and edited.edits == 1 and edited.buttons == []
        await tg.settle(quiet=0.1)
    finally:
        await dispatcher.stop_polling()
        await polling


@pytest.mark.asyncio
async def test_python_telegram_bot_client(tg: FakeTelegram) -> None:
    import telegram

    user = tg.user(42)
    async with telegram.Bot(tg.token, base_url=f"{tg.base_url}/bot") as ptb:
        assert ptb.username == "paincoach_test_bot"
        markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("OK", callback_data="ok")]])
        sent = await ptb.send_message(42, "<i>from PTB</i>", parse_mode="HTML", reply_markup=markup)
        assert sent.text == "from PTB"
        with pytest.raises(telegram.error.BadRequest, match="Message text is empty"):
            await ptb.send_message(42, " ")
        user.send_text("hello")
        updates = await ptb.get_updates(timeout=1)
        assert updates[0].message is not None and updates[0].message.text == "hello"
    assert user.messages[0].buttons == [[("OK", "ok")]]


@pytest.mark.asyncio
async def test_a_bot_in_another_process(tg: FakeTelegram) -> None:
    script = (
        "import asyncio, sys\n"
        "from aiogram import Bot\n"
        "from aiogram.client.session.aiohttp import AiohttpSession\n"
        "from aiogram.client.telegram import TelegramAPIServer\n"
        "async def main():\n"
        "    session = AiohttpSession(api=TelegramAPIServer.from_base(sys.argv[1]))\n"
        "    async with Bot(sys.argv[2], session=session) as bot:\n"
        "        [update] = await bot.get_updates(timeout=10)\n"
        "        await bot.send_message(update.message.chat.id, 'pong: ' + update.message.text)\n"
        "        await bot.get_updates(offset=update.update_id + 1)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, tg.base_url, tg.token)
    user = tg.user(42)
    user.send_text("ping")
    assert (await user.wait_for_text("pong: ping", timeout=20)).text == "pong: ping"
    assert await asyncio.wait_for(process.wait(), timeout=20) == 0
    assert tg.pending_updates == []


# -- sendPhoto ------------------------------------------------------------------------------------

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a8ab1a5a0000000049454e44ae426082"
)


async def test_send_photo_uploads_the_image_with_an_html_caption(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(7, "Ann")
    from aiogram.types import BufferedInputFile

    sent = await bot.send_photo(
        user.chat_id, BufferedInputFile(PNG_1X1, "chart.png"), caption="<b>Your</b> scores", parse_mode="HTML"
    )
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (1, 1)
    assert sent.caption == "Your scores"
    assert sent.caption_entities is not None
    assert sent.caption_entities[0].type == "bold"
    message = user.messages[-1]
    assert message.photo_data == PNG_1X1
    assert message.text == "Your scores"
    again = await bot.send_photo(user.chat_id, sent.photo[-1].file_id)  # a file_id sent before
    assert again.photo is not None
    assert again.photo[-1].file_id == sent.photo[-1].file_id


async def test_send_photo_refuses_what_telegram_refuses(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(8, "Bo")
    from aiogram.types import BufferedInputFile

    cases = [
        (BufferedInputFile(b"not an image", "x.png"), None, "IMAGE_PROCESS_FAILED"),
        ("https://example.org/chart.png", None, "wrong file identifier"),
        (BufferedInputFile(PNG_1X1, "x.png"), "x" * 1025, "caption is too long"),
        (BufferedInputFile(PNG_1X1, "x.png"), "<b>open", "can't parse entities"),
    ]
    for photo, caption, error in cases:
        with pytest.raises(TelegramBadRequest, match=error):
            await bot.send_photo(user.chat_id, photo, caption=caption, parse_mode="HTML")
    ok = await bot.send_photo(user.chat_id, BufferedInputFile(PNG_1X1, "x.png"), caption="y" * 1024)
    with pytest.raises(TelegramBadRequest, match="no text in the message"):
        await bot.edit_message_text("new", chat_id=user.chat_id, message_id=ok.message_id)
    assert len(user.messages) == 1


@pytest.mark.asyncio
async def test_forum_topics_are_created_renamed_and_deleted_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    plain_group = tg.group(-1009999, "Not a forum")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain_group.chat_id, "P-0001")
    staff = tg.group(-1001234, "Guides", is_forum=True)
    assert (await bot.get_chat(-1001234)).is_forum
    assert not (await bot.get_chat(-1009999)).is_forum
    topic = await bot.create_forum_topic(-1001234, "P-0001 🔴")
    assert staff.topics == {topic.message_thread_id: "P-0001 🔴"}
    assert staff.messages == [], "the topic's opening service message is nobody's message"
    await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🟢")
    assert staff.topics[topic.message_thread_id] == "P-0001 🟢"
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🟢")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(-1001234, "nowhere", message_thread_id=topic.message_thread_id + 50)

    # A member writes in the topic: it "replies" to the topic's first message, as in Telegram.
    staff.send_text(77, "Hello from a guide", thread_id=topic.message_thread_id)
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.is_topic_message
    assert update.message.reply_to_message is not None
    assert update.message.reply_to_message.message_id == topic.message_thread_id
    assert update.message.reply_to_message.forum_topic_created is not None

    await bot.delete_forum_topic(-1001234, topic.message_thread_id)
    assert staff.topics == {}
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(-1001234, "into the void", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🔴")


@pytest.mark.asyncio
async def test_copy_message_keeps_text_entities_photo_and_caption(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    staff = tg.group(-1001234, "Guides", is_forum=True)
    topic = await bot.create_forum_topic(-1001234, "P-0001")
    user.send_text("/start me")
    user.send_photo("my flare diary")
    first, second = (u.message for u in await bot.get_updates())
    assert first is not None and second is not None and second.photo and second.caption == "my flare diary"
    copied = await bot.copy_message(
        -1001234,
        42,
        first.message_id,
        message_thread_id=topic.message_thread_id,
        reply_markup=keyboard([("Done", "d")]),
    )
    await bot.copy_message(-1001234, 42, second.message_id, message_thread_id=topic.message_thread_id)
    text_copy, photo_copy = staff.topic_messages(topic.message_thread_id)
    assert text_copy.message_id == copied.message_id and text_copy.text == "/start me"
    assert text_copy.entities and text_copy.entities[0]["type"] == "bot_command"
    assert text_copy.labels == ["Done"]
    assert photo_copy.photo and photo_copy.text == "my flare diary"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("new", chat_id=-1001234, message_id=photo_copy.message_id)
    await bot.edit_message_caption(chat_id=-1001234, message_id=photo_copy.message_id, caption="my new diary")
    assert staff.messages[-1].text == "my new diary"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(-1001234, 42, 999)


@pytest.mark.asyncio
async def test_people_edit_what_they_sent(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    user.send_text("I feel ok")
    [update] = await bot.get_updates()
    assert update.message is not None
    user.edit(update.message.message_id, "I feel ok today")
    [edited] = await bot.get_updates(offset=update.update_id + 1)
    assert edited.edited_message is not None and edited.edited_message.text == "I feel ok today"
    assert edited.edited_message.edit_date is not None
    assert user.sent[-1].text == "I feel ok today"
