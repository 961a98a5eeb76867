"""The fake Bot API server itself: the aiohttp app on 127.0.0.1, start and stop, and running each call."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.botapi.chats import _Chats
from sandbox.botapi.errors import TelegramError, _bad_request
from sandbox.botapi.faults import NoAnswer
from sandbox.botapi.messages import _Messages
from sandbox.botapi.params import Params, _read_params
from sandbox.botapi.people import FakeGroup, FakeUser, _People
from sandbox.botapi.records import ApiCall, _Chat
from sandbox.botapi.updates import _client_alive, _Updates

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"

Handler = Callable[[Params], Awaitable[Any]]


class FakeTelegram(_People, _Messages, _Chats, _Updates):
    """A local Bot API server holding fake chats; see the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_id: int = 123456,
        bot_username: str = "paincoach_test_bot",
    ) -> None:
        super().__init__(token, bot_id, bot_username)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in (
            ("getMe", self._get_me),
            ("getUpdates", self._get_updates),
            ("setWebhook", self._set_webhook),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("sendMessage", self._send_message),
            ("sendPhoto", self._send_photo),
            ("sendDocument", self._send_document),
            ("copyMessage", self._copy_message),
            ("editMessageCaption", self._edit_message_caption),
            ("getChat", self._get_chat),
            ("createForumTopic", self._create_forum_topic),
            ("editForumTopic", self._edit_forum_topic),
            ("deleteForumTopic", self._delete_forum_topic),
            ("editMessageText", self._edit_message_text),
            ("pinChatMessage", self._pin_chat_message),
            ("unpinChatMessage", self._unpin_chat_message),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("answerCallbackQuery", self._answer_callback_query),
            ("sendChatAction", self._send_chat_action),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("close", self._close),
            ("logOut", self._log_out),
        ):
            self._methods[name.lower()] = (name, handler)

    # ---- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        if self._runner is not None:
            return
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        self._webhook_task = asyncio.create_task(self._webhook_worker())

    async def stop(self) -> None:
        """Stop listening; pending long polls return at once."""
        self._closing.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """ "http://127.0.0.1:PORT" (the server must be started)."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Base of method URLs: f"{api_url}/sendMessage"."""
        return f"{self.base_url}/bot{self.token}"

    # ---- people and chats -----------------------------------------------

    def user(self, user_id: int, first_name: str = "Pat", language_code: str = "en") -> FakeUser:
        """The person with this id (created on first use), in a private chat."""
        if user_id in self._users:
            return self._users[user_id]
        person = FakeUser(self, user_id, first_name, language_code)
        self._users[user_id] = person
        self._chats[user_id] = _Chat({"id": user_id, "type": "private", "first_name": first_name})
        return person

    def group(self, chat_id: int, title: str, is_forum: bool = False) -> FakeGroup:
        """A group chat with the bot in it (created on first use)."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        supergroup = is_forum or str(chat_id).startswith("-100")
        info: Params = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        if is_forum:
            info["is_forum"] = True
        chat_group = FakeGroup(self, chat_id, title, is_forum)
        self._groups[chat_id] = chat_group
        self._chats[chat_id] = _Chat(info)
        return chat_group

    # ---- HTTP ------------------------------------------------------------

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except ValueError as problem:
            return web.json_response(_bad_request(f"can't parse request: {problem}").to_json(), status=400)
        user_agent = request.headers.get("User-Agent", "")
        if token != self.token:
            call = self._record(method, params, user_agent)
            unauthorized = TelegramError(401, "Unauthorized").to_json()
            self._finish(call, unauthorized)
            return web.json_response(unauthorized, status=401)

        def alive() -> bool:
            transport = request.transport
            return transport is not None and not transport.is_closing()

        _client_alive.set(alive)
        try:
            status, body = await self._execute(method, params, user_agent)
        except NoAnswer:
            if request.transport is not None:
                request.transport.close()  # the client waits in vain, as for a timeout
            return web.Response(status=504)
        return web.json_response(body, status=status)

    def _record(self, method: str, params: Params, user_agent: str = "") -> ApiCall:
        entry = self._methods.get(method.lower())
        chat_id = params.get("chat_id")
        call = ApiCall(
            method=entry[0] if entry else method,
            params=params,
            timestamp=time.monotonic(),
            chat_id=chat_id if isinstance(chat_id, int) else None,
            user_agent=user_agent,
        )
        self.calls.append(call)
        return call

    def _finish(self, call: ApiCall, body: Params) -> None:
        call.finished = True
        call.ok = bool(body.get("ok"))
        call.error_code = body.get("error_code")
        call.description = body.get("description")
        call.result = body.get("result")
        self._notify()

    async def _execute(self, method: str, params: Params, user_agent: str = "") -> tuple[int, Params]:
        """Run one Bot API method and give (HTTP status, JSON body)."""
        call = self._record(method, params, user_agent)
        polling = call.method == "getUpdates"
        if not polling:
            self._in_flight += 1
            self._touch()
        try:
            delay = self._take_delay(call.method)
            if delay:
                await self._sleep(delay)
            entry = self._methods.get(method.lower())
            if entry is None:
                raise TelegramError(404, "Not Found: method not found")
            failure = self._take_failure(call.method, call.chat_id)
            if failure is not None:
                raise failure
            chaos = self._take_chaos(call.method)
            if isinstance(chaos, NoAnswer):
                await self._sleep(chaos.after)
                self._finish(call, {"ok": False, "description": "no answer (dropped)"})
                raise chaos
            if chaos is not None:
                raise chaos
            status, body = 200, {"ok": True, "result": await entry[1](params)}
        except TelegramError as error:
            status, body = error.error_code, error.to_json()
        finally:
            if not polling:
                self._in_flight -= 1
                self._touch()
        self._finish(call, body)
        return status, body
