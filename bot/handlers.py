"""aiogram handlers for private chats: turn Telegram updates into engine events, and answer taps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message, Update

from dialogs.events import Command, Event, NotText, Press, Text, parse_command
from paincoach.coach import ACK, REVIEWED, Coach, Reply
from storage.database import Database
from storage.patients import Person

log = logging.getLogger(__name__)


def event_for(message: Message) -> Event:
    if message.text is None:
        return NotText(message.message_id, message.caption or "")
    command = parse_command(message.text)
    if isinstance(command, Command):
        return replace(command, message_id=message.message_id)
    return command or Text(message.text, message.message_id)


class PatientHandlers:
    """The private-chat side of the bot: one patient, one conversation."""

    def __init__(self, coach: Coach, database: Database, wake_sender: object) -> None:
        self.coach = coach
        self.database = database
        self.wake_sender = wake_sender

    def router(self) -> Router:
        router = Router(name="patients")
        router.message.filter(F.chat.type == "private")
        router.message.register(self.on_message)
        router.callback_query.register(self.on_press)
        return router

    async def _handle(self, person: Person, event: Event, update_id: int) -> Reply | None:
        try:
            reply = await self.database.run(self.coach.handle, person, event, update_id)
        except Exception:
            # Never log what the patient wrote: the event type is enough to find the bug.
            log.exception("handling %s (update %d) failed", type(event).__name__, update_id)
            await self.database.run(self.coach.mark_handled, update_id, failed=True)
            await self.database.run(self.coach.apologise, person)
            reply = None
        if callable(self.wake_sender):
            self.wake_sender()
        return reply

    async def on_message(self, message: Message, event_update: Update) -> None:
        if message.from_user is None:
            return
        person = Person(message.from_user.id, message.chat.id, message.from_user.language_code)
        await self._handle(person, event_for(message), event_update.update_id)

    async def on_press(self, query: CallbackQuery, event_update: Update) -> None:
        chat_id = query.message.chat.id if query.message else query.from_user.id
        if query.message is not None and query.message.chat.type != "private":
            await answer_quietly(query)
            return
        person = Person(query.from_user.id, chat_id, query.from_user.language_code)
        message_id = query.message.message_id if query.message else None
        reply = await self._handle(person, Press(query.data or "", message_id), event_update.update_id)
        await answer_quietly(query, reply.toast if reply else None)


class StaffHandlers:
    """The staff chat's side: acknowledging risk alerts, marking stepped-care flags reviewed.
    Only taps in the staff chat count."""

    def __init__(self, coach: Coach, database: Database, staff_chat_id: int | None, wake_sender: object) -> None:
        self.coach = coach
        self.database = database
        self.staff_chat_id = staff_chat_id
        self.wake_sender = wake_sender

    def router(self) -> Router:
        router = Router(name="staff")
        router.callback_query.register(self.on_acknowledge, F.data.startswith(ACK))
        router.callback_query.register(self.on_reviewed, F.data.startswith(REVIEWED))
        return router

    async def on_reviewed(self, query: CallbackQuery) -> None:
        await self._tap(query, REVIEWED, self.coach.review_flag)

    async def on_acknowledge(self, query: CallbackQuery) -> None:
        await self._tap(query, ACK, self.coach.acknowledge)

    async def _tap(
        self, query: CallbackQuery, prefix: str, record: Callable[[int, int, str, int | None], str | None]
    ) -> None:
        """A tap on `<prefix><id>` in the staff chat (and only there): recorded, then answered."""
        in_staff_chat = query.message is not None and query.message.chat.id == self.staff_chat_id
        item_id = (query.data or "").removeprefix(prefix)
        if not in_staff_chat or not item_id.isdigit():
            await answer_quietly(query)
            return
        name = query.from_user.full_name or str(query.from_user.id)
        message_id = query.message.message_id if query.message else None
        answer = await self.database.run(record, int(item_id), query.from_user.id, name, message_id)
        if callable(self.wake_sender):
            self.wake_sender()
        await answer_quietly(query, answer)


async def answer_quietly(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a tap; an expired or unknown query is not worth more than a log line."""
    try:
        await query.answer(text=text)
    except Exception as error:
        log.warning("could not answer a button tap: %s", type(error).__name__)
