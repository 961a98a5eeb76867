"""Updates delivery: long polling with offsets and conflicts, and webhooks with retries."""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.botapi.core import _Core
from sandbox.botapi.errors import (
    GET_UPDATES_TERMINATED,
    GET_UPDATES_WEBHOOK_CONFLICT,
    TelegramError,
    _bad_request,
)
from sandbox.botapi.params import Params, normalise_params
from sandbox.botapi.records import WebhookAttempt, _Update, _Webhook

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_client_alive: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("_client_alive", default=None)


class _Updates(_Core):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo, and the worker that delivers to a webhook."""

    webhook_retry_delay = 0.2
    webhook_max_tries = 50
    webhook_timeout = 10.0

    if TYPE_CHECKING:

        async def _execute(self, method: str, params: Params) -> tuple[int, Params]: ...  # in FakeTelegram

    @property
    def pending_updates(self) -> list[Params]:
        """Updates not yet confirmed by the bot (or delivered to its webhook)."""
        return [u.payload for u in self._updates]

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    async def _get_updates(self, params: Params) -> Any:
        if self._webhook is not None:
            raise TelegramError(409, GET_UPDATES_WEBHOOK_CONFLICT)
        offset = params.get("offset")
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 1 <= limit <= 100 else 100
        timeout = params.get("timeout")
        timeout = max(0, timeout) if isinstance(timeout, int) else 0
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if allowed else None
        if isinstance(offset, int) and offset != 0:
            if offset < 0:
                keep = self._updates[offset:]
                self._updates = keep
            else:
                self._updates = [u for u in self._updates if u.update_id >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        alive = _client_alive.get()
        deadline = time.monotonic() + timeout
        while True:
            if self._closing.is_set():
                return []
            if alive is not None and not alive():
                return []  # the client went away (e.g. was killed): hand it nothing
            if self._webhook is not None:
                raise TelegramError(409, "Conflict: terminated by setWebhook request")
            if generation != self._poll_generation:
                raise TelegramError(409, GET_UPDATES_TERMINATED)
            batch = self._take_updates(self._allowed_updates, limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                if batch:
                    for update in batch:
                        update.handed_out = True
                    self._touch()
                return [u.payload for u in batch]
            await self._wait_change(min(remaining, 0.5))

    def _take_updates(self, allowed: list[str] | None, limit: int) -> list[_Update]:
        if allowed:
            self._updates = [u for u in self._updates if u.kind in allowed]
        return self._updates[:limit]

    async def _set_webhook(self, params: Params) -> Any:
        url = params.get("url") or ""
        if not isinstance(url, str):
            raise _bad_request("bad webhook: url must be a string")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            self._webhook = None
            self._notify()
            return True
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: invalid URL")
        if parts.hostname not in LOCAL_HOSTS:
            raise _bad_request("bad webhook: the fake Telegram server only delivers to 127.0.0.1 or localhost")
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise _bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        max_connections = params.get("max_connections")
        self._webhook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=max_connections if isinstance(max_connections, int) else 40,
            allowed_updates=list(allowed) if allowed else None,
        )
        self._notify()  # a waiting long poll ends with 409
        return True

    async def _delete_webhook(self, params: Params) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        self._notify()
        return True

    async def _get_webhook_info(self, params: Params) -> Any:
        hook = self._webhook
        info: Params = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    # ---- webhook delivery ------------------------------------------------

    def _next_webhook_update(self) -> _Update | None:
        hook = self._webhook
        if hook is None:
            return None
        batch = self._take_updates(hook.allowed_updates, 1)
        return batch[0] if batch else None

    async def _webhook_worker(self) -> None:
        tries: dict[int, int] = {}
        async with aiohttp.ClientSession() as session:
            while not self._closing.is_set():
                hook, update = self._webhook, self._next_webhook_update()
                if hook is None or update is None:
                    await self._wait_change(0.5)
                    continue
                self._webhook_busy = True
                try:
                    delivered, reply = await self._deliver(session, hook, update)
                finally:
                    self._webhook_busy = False
                    self._touch()
                if delivered:
                    tries.pop(update.update_id, None)
                    if update in self._updates:
                        self._updates.remove(update)
                    self._touch()
                    if reply is not None:
                        await self._execute(str(reply.pop("method")), reply)
                    continue
                tries[update.update_id] = tries.get(update.update_id, 0) + 1
                if tries[update.update_id] >= self.webhook_max_tries:
                    if update in self._updates:
                        self._updates.remove(update)
                    tries.pop(update.update_id)
                    self._touch()
                else:
                    await self._sleep(self.webhook_retry_delay)

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: _Webhook, update: _Update
    ) -> tuple[bool, Params | None]:
        """POST one update; give (delivered, method call in the reply or None)."""
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        attempt = WebhookAttempt(update.update_id, time.monotonic(), None)
        self.webhook_attempts.append(attempt)
        try:
            async with session.post(
                hook.url,
                data=json.dumps(update.payload),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                attempt.status = response.status
                if not 200 <= response.status < 300:
                    attempt.error = f"Wrong response from the webhook: {response.status} {response.reason}"
                else:
                    return True, await _webhook_reply(response)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            attempt.error = f"Connection failed: {type(error).__name__}: {error}"
        hook.last_error_date = int(time.time())
        hook.last_error_message = attempt.error
        return False, None


async def _webhook_reply(response: aiohttp.ClientResponse) -> Params | None:
    """A method call the bot put in its webhook answer (JSON or form-data)."""
    try:
        if response.content_type == "application/json":
            body = await response.json()
            if isinstance(body, dict) and isinstance(body.get("method"), str):
                return normalise_params(body)
        elif response.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader(response.headers, response.content)
            fields: dict[str, Any] = {}
            while True:
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    fields[part.name] = await part.text()
            if isinstance(fields.get("method"), str):
                return normalise_params(fields)
    except (ValueError, aiohttp.ClientError):
        return None
    return None
