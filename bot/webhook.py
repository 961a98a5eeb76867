"""The webhook endpoint: checks Telegram's secret token, stores the update, then answers 200.
(paincoach/ops.py adds /healthz and /metrics to the same server.)"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.pipeline import UpdatePipeline

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(pipeline: UpdatePipeline, path: str, secret: str) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook call with a wrong or missing secret token refused")
            return web.Response(status=401)
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400)
        await pipeline.accept([update])
        return web.Response()

    app = web.Application()
    app.router.add_post(path, receive)
    return app
