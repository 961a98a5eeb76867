"""The Bot API methods about chats and the bot: getChat, forum topics, callback answers, chat actions, commands."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.botapi.core import _Core
from sandbox.botapi.errors import QUERY_TOO_OLD, _bad_request
from sandbox.botapi.params import Params
from sandbox.botapi.records import FakeMessage, _Chat

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class _Chats(_Core):
    """Everything the bot asks of Telegram that is neither a message nor an update."""

    def commands(self, scope: Params | None = None, language_code: str = "") -> list[Params]:
        """Commands the bot set for this scope and language."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    async def _get_me(self, params: Params) -> Any:
        return self.bot_user

    async def _get_chat(self, params: Params) -> Any:
        chat = self._chat(params)
        return {
            **chat.info,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _forum(self, params: Params) -> _Chat:
        chat = self._chat(params)
        if chat.info.get("type") != "supergroup" or not chat.info.get("is_forum"):
            raise _bad_request("the chat is not a forum")
        return chat

    @staticmethod
    def _topic_name(params: Params) -> str:
        name = params.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad_request("TOPIC_NAME_INVALID")
        return name

    async def _create_forum_topic(self, params: Params) -> Any:
        chat = self._forum(params)
        name = self._topic_name(params)
        thread_id = self._take_message_id(chat)
        icon_color = params.get("icon_color") if isinstance(params.get("icon_color"), int) else 7322096
        created = {"name": name, "icon_color": icon_color}
        chat.topics[thread_id] = name
        chat.messages[thread_id] = FakeMessage(
            message_id=thread_id,
            chat_id=chat.id,
            text="",
            html="",
            thread_id=thread_id,
            date=int(self.dates()),
            sender=self.bot_user,
            chat=chat.info,
            service={"forum_topic_created": created, "message_thread_id": thread_id, "is_topic_message": True},
        )
        return {"message_thread_id": thread_id, **created}

    async def _pin_chat_message(self, params: Params) -> Any:
        chat = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or message_id not in chat.messages:
            raise _bad_request("message to pin not found")
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        chat.pinned.append(message_id)
        self._touch()
        return True

    async def _unpin_chat_message(self, params: Params) -> Any:
        chat = self._chat(params)
        message_id = params.get("message_id")
        if message_id is None:  # the latest pinned one
            message_id = chat.pinned[-1] if chat.pinned else None
        if message_id not in chat.pinned:
            raise _bad_request("message to unpin not found")
        chat.pinned.remove(message_id)
        self._touch()
        return True

    def pinned(self, chat_id: int) -> list[int]:
        """The ids of the messages pinned in a chat, the latest pinned last."""
        chat = self._chats.get(chat_id)
        return list(chat.pinned) if chat else []

    async def _edit_forum_topic(self, params: Params) -> Any:
        chat = self._forum(params)
        thread_id = params.get("message_thread_id")
        if not isinstance(thread_id, int) or thread_id not in chat.topics:
            raise _bad_request("TOPIC_ID_INVALID")
        if "name" in params:
            name = self._topic_name(params)
            if name == chat.topics[thread_id]:
                raise _bad_request("TOPIC_NOT_MODIFIED")
            chat.topics[thread_id] = name
        return True

    async def _delete_forum_topic(self, params: Params) -> Any:
        chat = self._forum(params)
        thread_id = params.get("message_thread_id")
        self._delete_topic(chat, thread_id if isinstance(thread_id, int) else 0)
        return True

    def _delete_topic(self, chat: _Chat, thread_id: int) -> None:
        if thread_id not in chat.topics:
            raise _bad_request("TOPIC_ID_INVALID")
        del chat.topics[thread_id]
        for message_id in [m.message_id for m in chat.messages.values() if m.thread_id == thread_id]:
            del chat.messages[message_id]
        self._touch()

    async def _answer_callback_query(self, params: Params) -> Any:
        query = self._callbacks.get(str(params.get("callback_query_id", "")))
        if query is None or query.answer is not None:
            raise _bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "text": text,
            "show_alert": bool(params.get("show_alert", False)),
            **{k: v for k, v in params.items() if k not in ("text", "show_alert")},
        }
        return True

    async def _send_chat_action(self, params: Params) -> Any:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    async def _set_my_commands(self, params: Params) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        cleaned: list[Params] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise _bad_request("invalid language code specified")
        key = self._commands_key(params.get("scope"), language)
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> Any:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: Params) -> Any:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    async def _close(self, params: Params) -> Any:
        return True

    async def _log_out(self, params: Params) -> Any:
        return True
