"""Start-up: settings -> database (migrated) -> content (checked) -> coach -> Telegram, then run
long polling or the webhook server, with the scheduler and the outbox sender inside (SCHEDULER=inside,
the default) until told to stop; or the scheduler alone (`paincoach scheduler`), receiving nothing."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.menus import set_patient_commands, set_staff_commands
from bot.pipeline import UpdatePipeline
from bot.polling import ALLOWED_UPDATES, poll
from bot.sender import Sender
from bot.transport import TelegramApi
from bot.webhook import webhook_app
from clock import Clock, SystemClock
from coach.services import Services
from content import load_content
from paincoach.ops import add_routes, serve
from paincoach.settings import Settings
from paincoach.wiring import connect, make_scheduler, make_sender, make_services, open_database
from scheduler.jobs import build_scheduler
from scheduler.service import SchedulerService
from storage.database import Database

log = logging.getLogger(__name__)


@dataclass
class TelegramCoach:
    """Everything the coach needs to talk to Telegram, built and ready to run."""

    settings: Settings
    services: Services
    api: TelegramApi
    pipeline: UpdatePipeline
    sender: Sender
    service: SchedulerService

    @property
    def database(self) -> Database:
        return self.services.database

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> TelegramCoach:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is needed to talk to Telegram")
        clock = clock or SystemClock()
        content = load_content(settings.content_dir, settings.default_locale)
        services = make_services(settings, open_database(settings), content, clock)
        api = connect(settings)
        sender = make_sender(settings, services, api)
        if services.desk is not None:
            services.desk.seed_admins(settings.admin_ids)
        pipeline = UpdatePipeline(services, api, sender.wake)
        return cls(settings, services, api, pipeline, sender, make_scheduler(services, sender))

    async def run(self, stop: asyncio.Event, *, timers: bool = True) -> None:
        """Run until `stop` is set; then finish the work in hand and close cleanly.

        `timers=False` runs no periodic sweeps on their own (the sender still runs): for tests and
        simulations that move a manual clock and sweep when they choose, never at a real-time moment."""
        username = await self.api.get_me()
        if username:  # invitation links name the bot; BOT_USERNAME is for the command line offline
            self.services.coach.enrolment.bot_username = username
        log.info("connected as @%s", username)
        await set_patient_commands(self.api, self.services.content)
        await open_staff_chat(self.api, self.services)
        inside = self.settings.scheduler == "inside"
        scheduler = build_scheduler(self.service)
        if inside:
            await self.service.renew()  # the sender starts at once if no other scheduler holds the lease
            if timers:
                scheduler.start()
        else:
            log.info("SCHEDULER=off: a separate `paincoach scheduler` sends messages and runs the sweeps")
        await self.pipeline.recover()
        runner: web.AppRunner | None = None
        receiver: asyncio.Task[None] | None = None
        ops: web.AppRunner | None = None
        needs_lease = self.settings.scheduler == "inside"
        if self.settings.webhook_mode:
            runner = await self._start_webhook()
        else:
            receiver = asyncio.create_task(poll(self.api, self.pipeline), name="polling")
        if self.settings.health_address is not None and runner is None:
            ops = await serve(self.settings.health_address, self.database, self.services.clock, needs_lease=needs_lease)
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
            if inside and scheduler.running:
                scheduler.shutdown(wait=False)
            for server in (runner, ops):
                if server is not None:
                    await server.cleanup()
            await self.pipeline.idle()
            await self.service.close()
            await self.api.close()
            self.database.dispose()
            log.info("the coach stopped")

    async def _start_webhook(self) -> web.AppRunner:
        assert self.settings.webhook_url
        assert self.settings.webhook_secret
        secret = self.settings.webhook_secret.get_secret_value()
        path = urlsplit(self.settings.webhook_url).path or "/"
        app = webhook_app(self.pipeline, path, secret)
        add_routes(app, self.database, self.services.clock, needs_lease=self.settings.scheduler == "inside")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.webhook_listen_host, self.settings.webhook_listen_port)
        await site.start()
        await self.api.set_webhook(self.settings.webhook_url, secret, ALLOWED_UPDATES)
        log.info(
            "webhook listening on %s:%d%s",
            self.settings.webhook_listen_host,
            self.settings.webhook_listen_port,
            path,
        )
        return runner


async def open_staff_chat(api: TelegramApi, services: Services) -> None:
    """Find out whether the staff chat has topics (one per patient) or not (reply-to relay)."""
    desk = services.desk
    if desk is None:
        return
    try:
        desk.forum = await api.is_forum(desk.staff_chat_id)
        await set_staff_commands(api, services.content, desk.staff_chat_id)
    except Exception as error:  # an unreadable staff chat must not stop the coach: relay by reply
        log.warning("the staff chat could not be read (%s): relaying by reply, without topics", type(error).__name__)
        desk.forum = False
    log.info("staff chat: %s", "one topic per patient" if desk.forum else "no topics; replies relay by reply-to")


async def run_scheduler_only(settings: Settings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """`paincoach scheduler`: the sweeps and the outbox sender, no update receiving."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is needed to send messages")
    content = load_content(settings.content_dir, settings.default_locale)
    services = make_services(settings, open_database(settings), content, clock or SystemClock())
    api = connect(settings)
    service = make_scheduler(services, make_sender(settings, services, api, poll_interval=0.5))
    await open_staff_chat(api, services)
    scheduler = build_scheduler(service)
    address = settings.health_address
    ops = await serve(address, services.database, services.clock) if address else None
    held = await service.renew()
    log.info("scheduler started (%s)", "running" if held else "waiting: another scheduler holds the lease")
    scheduler.start()
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        if ops is not None:
            await ops.cleanup()
        await service.close()
        await api.close()
        services.database.dispose()
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
