"""Tests of the fake Telegram server: its HTTP surface, HTML, sending and editing, failures and flood control."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BotCommand, Message, ReplyParameters

from sandbox.botapi import FakeTelegram, HtmlParseError, normalise_params, parse_html
from tests.fake_telegram_clients import keyboard, raw_call

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


@pytest.mark.asyncio
async def test_rate_limit_on_a_controlled_clock(tg: FakeTelegram, bot: Bot) -> None:
    """Flood control reads the clock it is given, so a test moves the fake's time, not the wall clock."""
    now = 5000.0
    user = tg.user(1)
    tg.rate_limit(per_chat_per_second=2, clock=lambda: now)
    await bot.send_message(1, "a")
    now += 0.5
    await bot.send_message(1, "b")
    now += 0.4  # 0.9 s on the clock since "a": a third send in the same second is one too many
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1, "c")
    assert caught.value.retry_after == 1
    assert (tg.calls[-1].error_code, tg.calls[-1].description) == (429, "Too Many Requests: retry after 1")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "c")  # however much real time has passed, the clock has not moved
    now += 1.0  # the clock moves on a second: "a" and "b" are out of the window
    await bot.send_message(1, "c")
    assert [m.text for m in user.messages] == ["a", "b", "c"]
