"""How each answer of the Bot API is understood by the aiogram adapter's delivery, against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.aiogram import AiogramApi, make_bot
from bot.transport import Blocked, Delivered, Rejected, RetryAfter, Transient
from sandbox.botapi import FakeTelegram
from storage.payloads import Edit, Message

CHAT = 2024


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.user(CHAT)
        yield fake


@pytest.fixture
async def transport(telegram: FakeTelegram) -> AsyncIterator[AiogramApi]:
    bot = make_bot(telegram.token, telegram.base_url, timeout=1.0)
    yield AiogramApi(bot)
    await bot.session.close()


MESSAGE = Message("Hello <b>there</b>", (("Go on", "1:next"),))


async def test_a_message_with_buttons_is_delivered_in_html(telegram: FakeTelegram, transport: AiogramApi) -> None:
    result = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(result, Delivered)
    sent = telegram.user(CHAT).messages[-1]
    assert sent.message_id == result.message_id
    assert sent.text == "Hello there"
    assert sent.buttons == [[("Go on", "1:next")]]


async def test_an_edit_removes_the_buttons(telegram: FakeTelegram, transport: AiogramApi) -> None:
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
    transport: AiogramApi,
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


async def test_a_timeout_is_transient(telegram: FakeTelegram, transport: AiogramApi) -> None:
    telegram.delay_next("sendMessage", 1.5)
    result = await transport.deliver(CHAT, MESSAGE)
    assert isinstance(result, Transient)


async def test_html_telegram_refuses_is_rejected_not_retried(transport: AiogramApi) -> None:
    result = await transport.deliver(CHAT, Message("<div>unsupported</div>"))
    assert isinstance(result, Rejected)
