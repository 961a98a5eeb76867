"""aiogram handlers for the staff chat: guides' replies in a patient's topic (or in reply to a
patient's message) go back to the patient; edits follow; staff commands; "Mark answered" taps.
Every update here is in the staff chat (`STAFF_CHAT_ID`); the guides' desk does the work."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import BotCommand, BotCommandScopeChat, CallbackQuery, Message, Update

from bot.handlers import answer_quietly
from content.render import render
from content.schema import Content
from dialogs.events import Command, parse_command
from paincoach.guide import COMMAND_ROLES, DONE, GuideDesk, StaffPost
from storage.database import Database

log = logging.getLogger(__name__)

STAFF_COMMANDS = ("queue", "patient", "checkin", "note", "done", "report", "staff")


def post_of(message: Message) -> StaffPost | None:
    """The plain-data view of a staff chat message; None for service messages and bots."""
    user = message.from_user
    if user is None or user.is_bot:
        return None
    media = message.text is None
    if media and not (
        message.photo or message.voice or message.audio or message.document or message.video
        or message.video_note or message.sticker or message.animation
    ):  # fmt: skip
        return None  # topic created, member joined...: nothing a patient should get
    thread = message.message_thread_id if message.is_topic_message else None
    replied = message.reply_to_message
    # In a topic, every message "replies" to the topic's first message: that is no reply.
    reply_to = replied.message_id if replied is not None and replied.message_id != thread else None
    reply_to_bot = bool(reply_to and replied and replied.from_user and replied.from_user.is_bot)
    html = message.html_text if (message.text is not None or message.caption is not None) else None
    return StaffPost(
        user_id=user.id,
        first_name=user.first_name,
        message_id=message.message_id,
        thread_id=thread,
        reply_to=reply_to,
        html=html,
        media=media,
        reply_to_bot=reply_to_bot,
    )


class StaffChat:
    """The staff chat's router; only updates from `staff_chat_id` reach it."""

    def __init__(self, desk: GuideDesk, database: Database, wake_sender: Callable[[], None]) -> None:
        self.desk = desk
        self.database = database
        self.wake_sender = wake_sender

    def router(self) -> Router:
        router = Router(name="staff-chat")
        in_staff_chat = F.chat.id == self.desk.staff_chat_id
        router.message.filter(in_staff_chat)
        router.edited_message.filter(in_staff_chat)
        router.callback_query.filter(F.data.startswith(DONE), F.message.chat.id == self.desk.staff_chat_id)
        router.message.register(self.on_message)
        router.edited_message.register(self.on_edited)
        router.callback_query.register(self.on_done)
        return router

    async def on_message(self, message: Message, event_update: Update) -> None:
        update_id = event_update.update_id
        post = post_of(message)
        if post is None:
            await self.database.run(self.desk.ignore, update_id)
            return
        command = parse_command(message.text or "")
        if isinstance(command, Command) and command.name in COMMAND_ROLES:
            outcome = await self.database.run(self.desk.command, update_id, post, command.name, command.args)
        elif command is not None:
            # Not ours ("// a note for the team", another bot's command, or a command another
            # router handles): never relayed; the next router may take it, else it is marked handled.
            raise SkipHandler
        else:
            outcome = await self.database.run(self.desk.staff_post, update_id, post)
        log.info("staff chat message: %s", outcome)
        self.wake_sender()

    async def on_edited(self, message: Message, event_update: Update) -> None:
        post = post_of(message)
        if post is None:
            await self.database.run(self.desk.ignore, event_update.update_id)
            return
        await self.database.run(self.desk.staff_edited, event_update.update_id, post)
        self.wake_sender()

    async def on_done(self, query: CallbackQuery, event_update: Update) -> None:
        ticket_id = (query.data or "").removeprefix(DONE)
        if not ticket_id.isdigit():
            await answer_quietly(query)
            return
        answer = await self.database.run(
            self.desk.mark_answered, event_update.update_id, query.from_user.id, int(ticket_id)
        )
        self.wake_sender()
        await answer_quietly(query, answer)


async def set_staff_commands(bot: Bot, content: Content, staff_chat_id: int) -> None:
    """Show the staff commands in the staff chat only; private chats keep the patients' menu."""
    texts = content.for_locale(None).ui
    commands = [
        BotCommand(command=name, description=render(texts[f"staff_command_{name}"], {})) for name in STAFF_COMMANDS
    ]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=staff_chat_id))
