"""What operators look at: `/healthz` (200 when well, 503 with the problems when not) and
`/metrics` (Prometheus), on the webhook server, or on HEALTH_LISTEN in polling mode and in
`paincoach scheduler`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clock import Clock
from coach import health, metrics
from storage.database import Database

log = logging.getLogger(__name__)


def add_routes(app: web.Application, database: Database, clock: Clock, *, needs_lease: bool = True) -> None:
    metrics.watch(database, clock)

    async def healthz(_request: web.Request) -> web.Response:
        state = await database.run(health.check, database, clock, needs_lease=needs_lease)
        body = {"ok": state.ok, "problems": list(state.problems), "checks": asdict(state)["checks"]}
        return web.json_response(body, status=200 if state.ok else 503)

    async def scrape(_request: web.Request) -> web.Response:
        output = await asyncio.to_thread(generate_latest, metrics.REGISTRY)
        return web.Response(body=output, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)


async def serve(
    address: tuple[str, int], database: Database, clock: Clock, *, needs_lease: bool = True
) -> web.AppRunner:
    """A small server of its own, for processes that have no webhook server."""
    app = web.Application()
    add_routes(app, database, clock, needs_lease=needs_lease)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address[0], address[1]).start()
    log.info("health and metrics on http://%s:%d/healthz and /metrics", *address)
    return runner
