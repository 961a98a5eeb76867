"""Running the sandbox until Ctrl-C: the stand-in Telegram, the coach, and the page, whose
address is printed once everything is ready."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import suppress

from aiohttp import web

from paincoach.settings import Settings
from sandbox.app import running_sandbox
from sandbox.web import page_app

HOST = "127.0.0.1"


async def serve_sandbox(
    settings: Settings,
    database_url: str,
    port: int,
    ready: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the page on 127.0.0.1:`port` (0: any free port) until `stop` is set or a signal comes."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
    async with running_sandbox(settings, database_url) as sandbox:
        runner = web.AppRunner(page_app(sandbox), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        await site.start()
        try:
            bound = int(runner.addresses[0][1])
            ready(f"http://{HOST}:{bound}/")
            await stop.wait()
        finally:
            await runner.cleanup()
