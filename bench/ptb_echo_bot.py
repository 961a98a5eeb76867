"""The bare python-telegram-bot bot the coach on ptb is measured against: it echoes every text.

python -m bench.ptb_echo_bot polling|webhook   (BENCH_API, BENCH_TOKEN, BENCH_PORT, BENCH_SECRET)

The library's own way: a `telegram.ext.Application` with its default (sequential) update
handling. Webhook updates arrive on an aiohttp server and go into the application's update queue,
as python-telegram-bot's custom-webhook example does (its built-in server needs tornado).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None:
        await update.message.reply_text(update.message.text or "?")


async def main(mode: str) -> None:
    api = f"{os.environ['BENCH_API']}/bot"
    application = Application.builder().token(os.environ["BENCH_TOKEN"]).base_url(api).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        gc.collect()
        gc.freeze()  # as the coach does, so the comparison is of the work, not of the collector
        await application.start()
        if mode == "polling":
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0)
            await asyncio.Event().wait()
            return
        port, secret = int(os.environ["BENCH_PORT"]), os.environ["BENCH_SECRET"]

        async def receive(request: web.Request) -> web.Response:
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return web.Response(status=401)
            await application.update_queue.put(Update.de_json(await request.json(), application.bot))
            return web.Response()

        app = web.Application()
        app.router.add_post("/hook", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await application.bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token=secret)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "polling"))
