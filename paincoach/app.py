"""Start-up: settings -> database (migrated) -> content (checked) -> coach -> Telegram, then run
long polling or the webhook server, with the scheduler and the outbox sender inside (SCHEDULER=inside,
the default) until told to stop; or the scheduler alone (`paincoach scheduler`), receiving nothing."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiohttp import web

from bot.broadcast import BroadcastHandlers
from bot.handlers import PatientHandlers, StaffHandlers
from bot.relay import PatientEdits
from bot.sender import Sender
from bot.staff import StaffChat, set_staff_commands
from bot.telegram import AiogramTransport, make_bot, set_commands
from bot.updates import ALLOWED_UPDATES, UpdatePipeline, poll, webhook_app
from clock import Clock, SystemClock
from content import load_content
from paincoach.broadcasts import BroadcastDesk
from paincoach.coach import Coach, make_coach, open_database
from paincoach.settings import Settings
from scheduler.jobs import build_scheduler, periodic_sweeps
from scheduler.service import SchedulerService
from storage.database import Database
from storage.staff import has_role

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
    service: SchedulerService

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> TelegramCoach:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is needed to talk to Telegram")
        clock = clock or SystemClock()
        content = load_content(settings.content_dir, settings.default_locale)
        database = open_database(settings)
        coach = make_coach(settings, database, content, clock)
        bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
        guides = coach.desk
        sender = Sender(
            database,
            AiogramTransport(bot),
            clock,
            rate=settings.send_rate,
            on_topic_gone=guides.topic_gone if guides else None,
        )
        broadcast_desk = BroadcastDesk(database, content, clock, staff_chat_id=settings.staff_chat_id)
        service = make_service(settings, coach, database, sender, clock, broadcast_desk)
        dispatcher = Dispatcher()
        dispatcher.include_router(StaffHandlers(coach, database, settings.staff_chat_id, sender.wake).router())
        if guides is not None:
            guides.seed_admins(settings.admin_ids)
            dispatcher.include_router(StaffChat(guides, database, sender.wake).router())
        may_broadcast = role_check(database, "coordinator")
        broadcasts = BroadcastHandlers(
            broadcast_desk, coach, database, settings.staff_chat_id, may_broadcast, sender.wake
        )
        dispatcher.include_router(broadcasts.router())
        dispatcher.include_router(PatientEdits(coach, database, sender.wake).router())
        dispatcher.include_router(PatientHandlers(coach, database, sender.wake).router())
        pipeline = UpdatePipeline(coach, database, dispatcher, bot)
        return cls(settings, database, coach, bot, dispatcher, pipeline, sender, service)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then finish the work in hand and close cleanly."""
        me = await self.bot.get_me()
        log.info("connected as @%s", me.username)
        await set_commands(self.bot, self.coach.content)
        await open_staff_chat(self.bot, self.coach)
        inside = self.settings.scheduler == "inside"
        scheduler = build_scheduler(self.service)
        if inside:
            await self.service.renew()  # the sender starts at once if no other scheduler holds the lease
            scheduler.start()
        else:
            log.info("SCHEDULER=off: a separate `paincoach scheduler` sends messages and runs the sweeps")
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
            if inside:
                scheduler.shutdown(wait=False)
            if runner is not None:
                await runner.cleanup()
            await self.pipeline.idle()
            await self.service.close()
            await self.bot.session.close()
            self.database.dispose()
            log.info("the coach stopped")

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


async def open_staff_chat(bot: Bot, coach: Coach) -> None:
    """Find out whether the staff chat has topics (one per patient) or not (reply-to relay)."""
    desk = coach.desk
    if desk is None:
        return
    try:
        chat = await bot.get_chat(desk.staff_chat_id)
        desk.forum = bool(chat.is_forum)
        await set_staff_commands(bot, coach.content, desk.staff_chat_id)
    except (TelegramAPIError, TelegramNetworkError, TimeoutError) as error:
        log.warning("the staff chat could not be read (%s): relaying by reply, without topics", type(error).__name__)
        desk.forum = False
    log.info("staff chat: %s", "one topic per patient" if desk.forum else "no topics; replies relay by reply-to")


def role_check(database: Database, *roles: str) -> Callable[[int], bool]:
    """Whether a Telegram user has one of these staff roles (an admin has every role)."""

    def may(user_id: int) -> bool:
        with database.transaction() as session:
            return has_role(session, user_id, *roles)

    return may


def make_service(
    settings: Settings,
    coach: Coach,
    database: Database,
    sender: Sender,
    clock: Clock,
    desk: BroadcastDesk | None = None,
) -> SchedulerService:
    desk = desk or BroadcastDesk(database, coach.content, clock, staff_chat_id=settings.staff_chat_id)
    return SchedulerService(
        coach,
        database,
        sender,
        clock,
        alert_repeat=timedelta(minutes=settings.alert_repeat_minutes),
        broadcasts=desk,
        periodic=periodic_sweeps(coach),
    )


async def run_scheduler_only(settings: Settings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """`paincoach scheduler`: the sweeps and the outbox sender, no update receiving."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed to send messages")
    clock = clock or SystemClock()
    content = load_content(settings.content_dir, settings.default_locale)
    database = open_database(settings)
    coach = make_coach(settings, database, content, clock)
    bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
    sender = Sender(
        database,
        AiogramTransport(bot),
        clock,
        rate=settings.send_rate,
        poll_interval=0.5,
        on_topic_gone=coach.desk.topic_gone if coach.desk else None,
    )
    service = make_service(settings, coach, database, sender, clock)
    await open_staff_chat(bot, coach)
    scheduler = build_scheduler(service)
    held = await service.renew()
    log.info("scheduler started (%s)", "running" if held else "waiting: another scheduler holds the lease")
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await service.close()
        await bot.session.close()
        database.dispose()
        log.info("the scheduler stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    return stop


async def run_telegram(settings: Settings) -> None:
    coach = TelegramCoach.build(settings)
    await coach.run(_stop_on_signals())


async def run_scheduler(settings: Settings) -> None:
    await run_scheduler_only(settings, _stop_on_signals())
