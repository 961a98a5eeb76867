"""Start-up: settings -> database (migrated) -> content (checked) -> coach -> Telegram, then run
long polling or the webhook server together with the outbox sender until told to stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiohttp import web

from bot.handlers import PatientHandlers, StaffHandlers
from bot.relay import PatientEdits
from bot.sender import Sender
from bot.staff import StaffChat, set_staff_commands
from bot.telegram import AiogramTransport, make_bot, set_commands
from bot.updates import ALLOWED_UPDATES, UpdatePipeline, poll, webhook_app
from content import load_content
from paincoach.clock import Clock, SystemClock
from paincoach.coach import Coach, make_coach, open_database
from paincoach.settings import Settings
from scheduler.jobs import build_scheduler
from storage.database import Database

log = logging.getLogger(__name__)


@dataclass
class TelegramCoach:
    """Everything the coach needs to talk to Telegram, built and ready to run."""

    settings: Settings
    database: Database
    coach: Coach
    bot: Bot
    dispatcher: Dispatcher
    pipeline: UpdatePipeline
    sender: Sender

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> TelegramCoach:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is needed to talk to Telegram")
        clock = clock or SystemClock()
        content = load_content(settings.content_dir, settings.default_locale)
        database = open_database(settings)
        coach = make_coach(settings, database, content, clock)
        bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
        desk = coach.desk
        sender = Sender(database, AiogramTransport(bot), clock, on_topic_gone=desk.topic_gone if desk else None)
        dispatcher = Dispatcher()
        dispatcher.include_router(StaffHandlers(coach, database, settings.staff_chat_id, sender.wake).router())
        if desk is not None:
            desk.seed_admins(settings.admin_ids)
            dispatcher.include_router(StaffChat(desk, database, sender.wake).router())
        dispatcher.include_router(PatientEdits(coach, database, sender.wake).router())
        dispatcher.include_router(PatientHandlers(coach, database, sender.wake).router())
        pipeline = UpdatePipeline(coach, database, dispatcher, bot)
        return cls(settings, database, coach, bot, dispatcher, pipeline, sender)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then finish the work in hand and close cleanly."""
        me = await self.bot.get_me()
        log.info("connected as @%s", me.username)
        await set_commands(self.bot, self.coach.content)
        await self._open_staff_chat()
        sender = asyncio.create_task(self.sender.run(), name="sender")
        scheduler = build_scheduler(
            self.coach,
            self.database,
            timedelta(minutes=self.settings.alert_repeat_minutes),
            self.sender.wake,
            desk=self.coach.desk,
        )
        scheduler.start()
        await self.pipeline.recover()
        runner: web.AppRunner | None = None
        receiver: asyncio.Task[None] | None = None
        if self.settings.webhook_mode:
            runner = await self._start_webhook()
        else:
            receiver = asyncio.create_task(poll(self.bot, self.pipeline), name="polling")
        gc.collect()
        gc.freeze()  # start-up objects never die: keep them out of every later collection
        log.info("the coach is running (%s)", "webhook" if runner else "long polling")
        try:
            stopped = asyncio.create_task(stop.wait())
            waiters: set[asyncio.Future[Any]] = {stopped}
            if receiver is not None:
                waiters.add(receiver)
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if receiver is not None and receiver.done() and not receiver.cancelled():
                receiver.result()  # polling ended by an error: raise it
        finally:
            if receiver is not None:
                receiver.cancel()
                with suppress(asyncio.CancelledError):
                    await receiver
            scheduler.shutdown(wait=False)
            if runner is not None:
                await runner.cleanup()
            await self.pipeline.idle()
            with suppress(Exception):
                await asyncio.wait_for(self.sender.drain(), timeout=10)
            self.sender.stop()
            await sender
            await self.bot.session.close()
            self.database.dispose()
            log.info("the coach stopped")

    async def _open_staff_chat(self) -> None:
        """Find out whether the staff chat has topics (one per patient) or not (reply-to relay)."""
        desk = self.coach.desk
        if desk is None:
            return
        try:
            chat = await self.bot.get_chat(desk.staff_chat_id)
            desk.forum = bool(chat.is_forum)
            await set_staff_commands(self.bot, self.coach.content, desk.staff_chat_id)
        except (TelegramAPIError, TelegramNetworkError, TimeoutError) as error:
            log.warning(
                "the staff chat could not be read (%s): relaying by reply, without topics", type(error).__name__
            )
            desk.forum = False
        log.info("staff chat: %s", "one topic per patient" if desk.forum else "no topics; replies relay by reply-to")

    async def _start_webhook(self) -> web.AppRunner:
        assert self.settings.webhook_url
        assert self.settings.webhook_secret
        secret = self.settings.webhook_secret.get_secret_value()
        path = urlsplit(self.settings.webhook_url).path or "/"
        runner = web.AppRunner(webhook_app(self.pipeline, path, secret), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.webhook_listen_host, self.settings.webhook_listen_port)
        await site.start()
        await self.bot.set_webhook(
            self.settings.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info(
            "webhook listening on %s:%d%s",
            self.settings.webhook_listen_host,
            self.settings.webhook_listen_port,
            path,
        )
        return runner


async def run_telegram(settings: Settings) -> None:
    coach = TelegramCoach.build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await coach.run(stop)
