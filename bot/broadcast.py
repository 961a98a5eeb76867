"""/broadcast in the staff chat: a coordinator writes a broadcast, sees a preview, and confirms it.

    /broadcast lesson:2 at 2026-03-02 09:00 quiet
    Hello {{ code }}, ...

The first line names the audience and options, the message follows. Who may broadcast is a
callable given from outside, run on the database thread (who is a coordinator is the staff
module's business: storage.staff.has_role(session, user_id, "coordinator")).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message, Update

from bot.handlers import answer_quietly
from content.render import plain, render
from paincoach.broadcasts import BroadcastDesk, BroadcastError, Draft
from paincoach.coach import Coach
from storage import outbox
from storage.database import Database
from storage.outbox import Priority

log = logging.getLogger(__name__)

SEND, CANCEL = "bc:send:", "bc:cancel:"
_AT = re.compile(r"\bat\s+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class BroadcastRequest:
    """/broadcast, read: audience, time (UTC), whether to wait for quiet hours, and the message."""

    audience: str
    send_at: datetime | None
    quiet_hours: bool
    text: str


def parse_request(message_text: str) -> BroadcastRequest | None:
    """`/broadcast <audience> [at YYYY-MM-DD HH:MM] [quiet]` and the message on the next lines."""
    head, _, body = message_text.partition("\n")
    words = head.split(maxsplit=1)
    options = words[1] if len(words) > 1 else ""
    send_at = None
    found = _AT.search(options)
    if found:
        try:
            send_at = datetime.fromisoformat(f"{found.group(1)} {found.group(2).zfill(5)}").replace(tzinfo=UTC)
        except ValueError:
            return None
        options = options[: found.start()] + options[found.end() :]
    parts = options.split()
    quiet = "quiet" in (p.lower() for p in parts)
    rest = [p for p in parts if p.lower() != "quiet"]
    if len(rest) != 1 or not body.strip():
        return None
    return BroadcastRequest(rest[0], send_at, quiet, body.strip())


class BroadcastHandlers:
    def __init__(
        self,
        desk: BroadcastDesk,
        coach: Coach,
        database: Database,
        staff_chat_id: int | None,
        may_broadcast: Callable[[int], bool],  # run on the database thread
        wake_sender: Callable[[], None],
    ) -> None:
        self.desk = desk
        self.coach = coach
        self.database = database
        self.staff_chat_id = staff_chat_id
        self.may_broadcast = may_broadcast
        self.wake_sender = wake_sender

    def router(self) -> Router:
        router = Router(name="broadcast")
        router.message.filter(F.chat.id == self.staff_chat_id)
        router.message.register(self.on_broadcast, F.text.regexp(r"^/broadcast(@\w+)?(\s|$)"))
        router.callback_query.filter(F.data.startswith("bc:"))
        router.callback_query.register(self.on_press)
        return router

    def _ui(self, key: str, **context: object) -> str:
        return render(self.coach.content.for_locale(None).ui[key], dict(context))

    def _post(self, text: str, buttons: list[list[str]] | None = None, thread_id: int | None = None) -> None:
        assert self.staff_chat_id is not None
        with self.database.transaction() as session:
            payload: dict[str, object] = {"text": text, "buttons": buttons or []}
            if thread_id is not None:
                payload["thread_id"] = thread_id
            outbox.enqueue(
                session,
                chat_id=self.staff_chat_id,
                kind="message",
                now=self.coach.clock.now(),
                priority=Priority.INTERACTIVE,
                payload=payload,
            )

    async def on_broadcast(self, message: Message, event_update: Update) -> None:
        try:
            await self._on_broadcast(message)
        finally:
            await self.database.run(self.coach.mark_handled, event_update.update_id)
            self.wake_sender()

    async def _on_broadcast(self, message: Message) -> None:
        thread = message.message_thread_id
        user = message.from_user
        if user is None or not await self.database.run(self.may_broadcast, user.id):
            await self.database.run(self._post, self._ui("staff_broadcast_not_allowed"), None, thread)
            return
        request = parse_request(message.text or "")
        if request is None:
            await self.database.run(self._post, self._ui("staff_broadcast_usage"), None, thread)
            return
        try:
            draft: Draft = await self.database.run(
                lambda: self.desk.draft(
                    created_by=user.id,
                    audience=request.audience,
                    text=request.text,
                    send_at=request.send_at,
                    quiet_hours=request.quiet_hours,
                    report_chat_id=self.staff_chat_id,
                )
            )
        except BroadcastError as problem:
            await self.database.run(self._post, self._ui("staff_broadcast_problem", problem=str(problem)), None, thread)
            return
        when = "now" if request.send_at is None else f"at {draft.send_at:%Y-%m-%d %H:%M} UTC"
        header = self._ui(
            "staff_broadcast_preview",
            id=draft.id,
            audience=draft.audience,
            count=draft.recipients,
            when=when,
            quiet=draft.quiet_hours,
        )
        buttons = [
            [plain(self._ui("staff_broadcast_send", count=draft.recipients)), f"{SEND}{draft.id}"],
            [plain(self._ui("staff_broadcast_cancel")), f"{CANCEL}{draft.id}"],
        ]
        await self.database.run(self._post, header, None, thread)
        await self.database.run(self._post, draft.preview, buttons, thread)
        log.info("broadcast %d drafted for %d recipients", draft.id, draft.recipients)

    async def on_press(self, query: CallbackQuery) -> None:
        data = query.data or ""
        in_staff_chat = query.message is not None and query.message.chat.id == self.staff_chat_id
        number = data.rpartition(":")[2]
        if not in_staff_chat or not number.isdigit():
            await answer_quietly(query)
            return
        if not await self.database.run(self.may_broadcast, query.from_user.id):
            await answer_quietly(query, plain(self._ui("staff_broadcast_not_allowed")))
            return
        broadcast_id = int(number)
        thread = getattr(query.message, "message_thread_id", None)
        if data.startswith(SEND) and await self.database.run(self.desk.confirm, broadcast_id):
            name = query.from_user.full_name or str(query.from_user.id)
            await self.database.run(
                self._post, self._ui("staff_broadcast_confirmed", id=broadcast_id, by=name), None, thread
            )
            log.info("broadcast %d confirmed", broadcast_id)
        elif data.startswith(CANCEL) and await self.database.run(self.desk.cancel, broadcast_id):
            await self.database.run(self._post, self._ui("staff_broadcast_cancelled", id=broadcast_id), None, thread)
        else:
            await answer_quietly(query, plain(self._ui("already_noted")))
            return
        self.wake_sender()
        await answer_quietly(query)
