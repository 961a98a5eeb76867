"""aiogram handlers for edits in private chats: a patient's edit of a message they sent their
guide edits the guides' copy, and every edit is checked for crisis language like new text."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import F, Router
from aiogram.types import Message, Update

from dialogs.events import Edited
from paincoach.coach import Coach
from storage.database import Database
from storage.patients import Person

log = logging.getLogger(__name__)


class PatientEdits:
    def __init__(self, coach: Coach, database: Database, wake_sender: Callable[[], None]) -> None:
        self.coach = coach
        self.database = database
        self.wake_sender = wake_sender

    def router(self) -> Router:
        router = Router(name="patient-edits")
        router.edited_message.filter(F.chat.type == "private")
        router.edited_message.register(self.on_edited)
        return router

    async def on_edited(self, message: Message, event_update: Update) -> None:
        if message.from_user is None:
            return
        written = message.text if message.text is not None else message.caption
        desk = self.coach.desk
        if desk is not None and written is not None:
            await self.database.run(
                desk.mirror_patient_edit,
                message.from_user.id,
                message.message_id,
                message.html_text,
                message.text is None,
            )
        person = Person(message.from_user.id, message.chat.id, message.from_user.language_code)
        try:
            await self.database.run(self.coach.handle, person, Edited(written or ""), event_update.update_id)
        except Exception:
            log.exception("handling an edit (update %d) failed", event_update.update_id)
            await self.database.run(self.coach.mark_handled, event_update.update_id, failed=True)
        self.wake_sender()
