"""The bare aiogram bot the coach is measured against: it answers every text with a message, and
every tap by answering the callback and sending a message with a button; nothing more.

python -m bench.bare_aiogram polling|webhook   (BENCH_API, BENCH_TOKEN, BENCH_PORT, BENCH_SECRET)
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Next", callback_data="next")]])


async def main(mode: str) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["BENCH_API"]))
    bot = Bot(os.environ["BENCH_TOKEN"], session=session)
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?", reply_markup=KEYBOARD)

    @dispatcher.callback_query()
    async def tapped(query: CallbackQuery) -> None:
        await query.answer()
        if query.message is not None:
            await bot.send_message(query.message.chat.id, query.data or "?", reply_markup=KEYBOARD)

    gc.collect()
    gc.freeze()  # as the coach does, so the comparison is of the work, not of the collector
    if mode == "polling":
        await dispatcher.start_polling(bot, handle_signals=True)
        return
    port, secret = int(os.environ["BENCH_PORT"]), os.environ["BENCH_SECRET"]
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path="/hook")
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token=secret)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "polling"))
