"""The bare python-telegram-bot bot the coach (on ptb) is measured against: it answers every text
with a message, and every tap by answering the callback and sending a message with a button.

Webhook mode feeds ptb's update queue from a small aiohttp server, as ptb's documentation shows for
a custom web server (ptb's own needs tornado). Default concurrency, with sniffio installed
(../shared/PERFORMANCE.md).

python -m bench.bare_ptb polling|webhook   (BENCH_API, BENCH_TOKEN, BENCH_PORT, BENCH_SECRET)
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Next", callback_data="next")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(update.effective_message.text or "?", reply_markup=KEYBOARD)


async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, query.data or "?", reply_markup=KEYBOARD)


async def main(mode: str) -> None:
    application = (
        Application.builder().token(os.environ["BENCH_TOKEN"]).base_url(f"{os.environ['BENCH_API']}/bot").build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(tapped))
    async with application:
        await application.start()
        gc.collect()
        gc.freeze()
        if mode == "polling":
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0, timeout=10)
            await asyncio.Event().wait()
            return
        port, secret = int(os.environ["BENCH_PORT"]), os.environ["BENCH_SECRET"]

        async def hook(request: web.Request) -> web.Response:
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return web.Response(status=403)
            await application.update_queue.put(Update.de_json(await request.json(), application.bot))
            return web.Response()

        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await application.bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token=secret)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "polling"))
