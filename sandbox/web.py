"""The sandbox's page and the small JSON interface it uses, served on 127.0.0.1.

What the page shows is read from the stand-in Telegram (each chat as the person in it sees it)
and, for what happened before the sandbox started (a simulated trial), from the database. What
the page does is what a person does in Telegram: write, send a photo, edit, tap a button, as a
patient or as a member of the staff group; and move the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from content.render import plain
from sandbox.app import STAFF, Sandbox
from sandbox.botapi import FakeMessage, TelegramError
from sandbox.history import history_of
from sandbox.time_travel import TimeTravelError

PAGE = Path(__file__).resolve().parent / "page"
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "copyMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "createForumTopic",
        "editForumTopic",
        "deleteForumTopic",
        "answerCallbackQuery",
        "pinChatMessage",
        "unpinChatMessage",
    }
)
SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
Json = dict[str, Any]


def page_app(sandbox: Sandbox) -> web.Application:
    app = web.Application(middlewares=[_plain_errors])
    app[SANDBOX_KEY] = sandbox
    app.router.add_get("/", _index)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/log", _log)
    app.router.add_get("/api/photo/{chat}/{message}", _photo)
    app.router.add_post("/api/patients", _new_patient)
    app.router.add_post("/api/patients/{user}/{action}", _patient_does)
    app.router.add_post("/api/staff/{action}", _staff_does)
    app.router.add_post("/api/clock", _move_clock)
    app.router.add_static("/page/", PAGE)
    return app


class Refused(Exception):
    """A request the page should not have made (or a move the clock refuses): said plainly."""


@web.middleware
async def _plain_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    try:
        return await handler(request)
    except (Refused, TimeTravelError, TelegramError, KeyError, ValueError, AssertionError) as problem:
        reason = problem.description if isinstance(problem, TelegramError) else str(problem)
        if isinstance(problem, KeyError):
            reason = f"no such patient or message: {problem}"
        return web.json_response({"ok": False, "error": reason.split("\n")[0][:300]}, status=400)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE / "index.html")


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


async def _body(request: web.Request) -> Json:
    try:
        body = await request.json()
    except ValueError:
        raise Refused("the request needs a JSON body") from None
    if not isinstance(body, dict):
        raise Refused("the request needs a JSON object")
    return body


def _text(body: Json, name: str = "text", *, empty: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise Refused(f"{name} is missing")
    return value


def _int(body: Json, name: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise Refused(f"{name} is not a number")
    return int(value)


# -- what the page shows --------------------------------------------------------------------


class Show:
    """Turns the sandbox's state into what the page draws, in the sandbox's time."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.zone = ZoneInfo(sandbox.settings.default_timezone)

    def moment(self, at: datetime) -> Json:
        local = at.astimezone(self.zone)
        return {"iso": at.astimezone(UTC).isoformat(), "label": local.strftime("%a %d %b %Y, %H:%M")}

    def dated(self, epoch: float) -> Json:
        return self.moment(datetime.fromtimestamp(epoch, UTC))

    def message(self, message: FakeMessage, names: dict[int, str]) -> Json:
        sender = message.sender.get("id")
        shown: Json = {
            "id": message.message_id,
            "from_bot": message.from_bot,
            "sender_id": sender,
            "sender": names.get(int(sender), message.sender.get("first_name", "")) if sender else "",
            "text": message.text,
            "html": message.html if message.from_bot and message.parse_mode == "HTML" else None,
            "buttons": [[{"label": label, "data": data} for label, data in row] for row in message.buttons],
            "edited": message.edit_date is not None or message.edits > 0,
            "at": self.dated(message.date),
            "thread": message.thread_id,
            "reply_to": message.reply_to_message_id,
            "photo": None,
            "service": None,
        }
        if message.photo is not None:
            shown["photo"] = (
                f"/api/photo/{message.chat_id}/{message.message_id}" if message.photo_data else "/page/photo.svg"
            )
        if message.service is not None:
            created = message.service.get("forum_topic_created")
            shown["service"] = f"topic “{created['name']}” created" if isinstance(created, dict) else "service"
        return shown

    def chat(self, chat_id: int, names: dict[int, str]) -> list[Json]:
        chat = self.sandbox.telegram._chats.get(chat_id)
        if chat is None:
            return []
        return [self.message(m, names) for m in sorted(chat.messages.values(), key=lambda m: m.message_id)]

    def pinned(self, chat_id: int) -> list[int]:
        return self.sandbox.telegram.pinned(chat_id)

    def names(self) -> dict[int, str]:
        names = {p.user_id: p.name for p in STAFF}
        names.update(self.sandbox.names)
        return names


async def _state(request: web.Request) -> web.Response:
    """Everything the page draws: the clock, the patients (and the chats of the open ones), the
    staff group, and the commands each side has."""
    sandbox = _sandbox(request)
    show = Show(sandbox)
    names = show.names()
    codes = await sandbox.coach.database.run(sandbox.codes)
    wanted = {int(i) for i in request.query.get("open", "").split(",") if i.strip().lstrip("-").isdigit()}
    due = await sandbox.coach.database.run(sandbox.next_due)
    telegram = sandbox.telegram
    patients = []
    for user_id, name in sandbox.names.items():
        entry: Json = {"id": user_id, "name": name, "code": codes.get(user_id)}
        if user_id in wanted:
            entry["messages"] = show.chat(user_id, names)
            entry["pinned"] = show.pinned(user_id)
            entry["history"] = await sandbox.coach.database.run(history_of, sandbox.coach.database, user_id, show)
        patients.append(entry)
    group = sandbox.staff_group
    staff_chat = group.chat_id
    ahead = sandbox.clock.offset.total_seconds()
    return web.json_response(
        {
            "ok": True,
            "version": [telegram.last_seq, len(telegram.calls), len(sandbox.names), ahead],
            "clock": {
                **show.moment(sandbox.clock.now()),
                "zone": sandbox.settings.default_timezone,
                "next_due": {**show.moment(due.due_at), "kind": due.kind.replace("_", " ")} if due else None,
            },
            "patients": patients,
            "patient_commands": _commands(telegram.commands({"type": "all_private_chats"})),
            "staff": {
                "chat": staff_chat,
                "members": [{"id": p.user_id, "name": p.name, "role": p.role} for p in STAFF],
                "topics": [{"thread": t, "name": n} for t, n in sorted(group.topics.items())],
                "messages": show.chat(staff_chat, names),
                "pinned": show.pinned(staff_chat),
                "commands": _commands(telegram.commands({"type": "chat", "chat_id": staff_chat})),
            },
        }
    )


def _commands(commands: list[Any]) -> list[Json]:
    return [{"command": c.get("command"), "description": c.get("description")} for c in commands if isinstance(c, dict)]


async def _log(request: web.Request) -> web.Response:
    """What the coach sent, and when (the sandbox's time), newest last."""
    sandbox = _sandbox(request)
    show = Show(sandbox)
    names = show.names()
    staff_chat = sandbox.staff_group.chat_id
    times = sandbox.telegram.call_times
    entries = []
    for call in sandbox.telegram.calls:
        if call.method not in SENDING:
            continue
        params = call.params
        if call.chat_id == staff_chat:
            to = "staff group"
        elif call.chat_id is not None:
            to = names.get(call.chat_id, str(call.chat_id))
        else:
            to = ""
        what = params.get("text") or params.get("caption") or params.get("name") or ""
        if call.method == "copyMessage":
            what = f"copy of message {params.get('message_id')} from {names.get(params.get('from_chat_id', 0), '')}"
        entries.append(
            {
                "at": show.moment(times.get(id(call), sandbox.clock.now())),
                "method": call.method,
                "to": to,
                "thread": params.get("message_thread_id"),
                "what": plain(str(what))[:160],
                "ok": call.ok if call.finished else None,
                "error": call.description if call.finished and not call.ok else None,
            }
        )
    return web.json_response({"ok": True, "entries": entries[-500:]})


async def _photo(request: web.Request) -> web.Response:
    chat = request.app[SANDBOX_KEY].telegram._chats.get(int(request.match_info["chat"]))
    message = chat.messages.get(int(request.match_info["message"])) if chat else None
    if message is None or message.photo_data is None:
        raise web.HTTPNotFound()
    return web.Response(body=message.photo_data, content_type="image/png")


# -- what the page does ----------------------------------------------------------------------


async def _new_patient(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    body = await _body(request)
    name = _text(body, "name").strip()[:40]
    patient = sandbox.new_patient(name)
    return web.json_response({"ok": True, "id": patient.user_id})


async def _patient_does(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    patient = sandbox.patient(int(request.match_info["user"]))
    action = request.match_info["action"]
    body = await _body(request)
    if action == "send":
        patient.send_text(_text(body))
    elif action == "photo":
        patient.send_photo(_text(body, "caption", empty=True))
    elif action == "press":
        patient.press(_text(body, "data"), message_id=_int(body, "message"))
    elif action == "edit":
        message = _int(body, "message")
        if message is None:
            raise Refused("which message?")
        patient.edit(message, _text(body))
    else:
        raise web.HTTPNotFound()
    await sandbox.settle(timeout=10)
    return web.json_response({"ok": True})


async def _staff_does(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    group = sandbox.staff_group
    action = request.match_info["action"]
    body = await _body(request)
    member = _int(body, "as")
    if member not in {p.user_id for p in STAFF}:
        raise Refused("write as one of the staff")
    thread = _int(body, "thread")
    reply_to = _int(body, "reply_to")
    if action == "send":
        group.send_text(member, _text(body), thread_id=thread, reply_to_message_id=reply_to)
    elif action == "press":
        group.press(member, _text(body, "data"), message_id=_int(body, "message"))
    elif action == "edit":
        message = _int(body, "message")
        if message is None:
            raise Refused("which message?")
        group.edit(member, message, _text(body))
    else:
        raise web.HTTPNotFound()
    await sandbox.settle(timeout=10)
    return web.json_response({"ok": True})


async def _move_clock(request: web.Request) -> web.Response:
    """Move the clock on: {"by": "hour" | "day" | "week"}, {"to": "next"} or {"to": ISO date or moment}."""
    sandbox = _sandbox(request)
    body = await _body(request)
    steps = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
    by, to = body.get("by"), body.get("to")
    if isinstance(by, str) and by in steps:
        moved = await sandbox.advance(steps[by])
    elif to == "next":
        moved = await sandbox.to_next_due()
    elif isinstance(to, str) and to.strip():
        moved = await sandbox.travel_to(_moment(to, ZoneInfo(sandbox.settings.default_timezone)))
    else:
        raise Refused('say how far: {"by": "hour"}, {"by": "day"}, {"to": "next"} or {"to": "2026-03-01"}')
    show = Show(sandbox)
    return web.json_response(
        {"ok": True, "now": show.moment(moved.now), "due_moments": moved.due_moments, "fired": moved.fired}
    )


def _moment(text: str, zone: ZoneInfo) -> datetime:
    """A date (at 09:00) or a date and time, in the sandbox's time zone unless it names one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refused(f"{text!r} is not a date: write it as 2026-03-01 or 2026-03-01T14:30") from None
    if len(text.strip()) <= 10:
        moment = moment.replace(hour=9)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
