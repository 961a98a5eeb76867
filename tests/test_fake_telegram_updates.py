"""Tests of the fake Telegram server's updates: long polling, callback queries, waiting, webhooks, whole bots."""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import CallbackQuery, Message
from aiohttp import web

from sandbox.botapi import FakeTelegram
from tests.fake_telegram_clients import keyboard, raw_call

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
