"""A stored Bot API update, read once into a plain inbound event: no framework, no guessing.

Private chats are patients; the staff chat (`STAFF_CHAT_ID`) is the guides'. What neither of
them sends (other groups, channels, service messages, other bots) is `Ignored`. An update whose
shape is not what the Bot API promises raises `Unreadable`, which names what was wrong but
never what the update said: updates hold patients' words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.html import entities_to_html
from coach.desk import StaffPost
from coach.forgery import STAFF_BUTTONS
from dialogs.events import Command, Event, NotText, Press, Text, parse_command
from storage.patients import Person

MEDIA = ("photo", "voice", "audio", "document", "video", "video_note", "sticker", "animation")
STAFF_TAPS = STAFF_BUTTONS  # button data only the staff chat's buttons carry


class Unreadable(ValueError):
    """The update is not shaped as the Bot API promises; the message says where, not what."""


@dataclass(frozen=True)
class PatientMessage:
    """Something a patient sent in their private chat: text, a command, a photo ..."""

    person: Person
    event: Event


@dataclass(frozen=True)
class PatientTap:
    person: Person
    query_id: str
    press: Press


@dataclass(frozen=True)
class PatientEdit:
    """A patient edited a message: checked for crisis language, and their guide's copy follows."""

    person: Person
    message_id: int
    written: str  # the new text or caption
    html: str
    is_caption: bool


@dataclass(frozen=True)
class StaffMessage:
    """A message in the staff chat: a reply to a patient, a note among the team, or a command."""

    post: StaffPost
    command: Command | None = None  # with `name` and `args`
    text: str = ""  # the whole text (a /broadcast carries its message on the lines below)


@dataclass(frozen=True)
class StaffEdit:
    post: StaffPost


@dataclass(frozen=True)
class StaffTap:
    """A tap on one of the coach's buttons in the staff chat (Acknowledge, Reviewed, Mark answered, Send)."""

    query_id: str
    user_id: int
    name: str
    data: str
    message_id: int | None
    thread_id: int | None


@dataclass(frozen=True)
class Ignored:
    """Nothing for the coach; `query_id` when it was a tap, which still gets its (empty) answer."""

    why: str
    query_id: str | None = None


Inbound = PatientMessage | PatientTap | PatientEdit | StaffMessage | StaffEdit | StaffTap | Ignored


def read_update(update: Mapping[str, Any], staff_chat_id: int | None) -> Inbound:
    """What one update means for the coach."""
    try:
        if "message" in update:
            return _message(_object(update["message"], "message"), staff_chat_id)
        if "edited_message" in update:
            return _edited(_object(update["edited_message"], "edited_message"), staff_chat_id)
        if "callback_query" in update:
            return _tap(_object(update["callback_query"], "callback_query"), staff_chat_id)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, Unreadable):
            raise
        raise Unreadable(f"{type(error).__name__} reading {_kind(update)}") from None
    return Ignored(f"{_kind(update)} updates are not for the coach")


def chat_of(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (updates of one chat are handled in order), if it can tell."""
    try:
        for key in ("message", "edited_message"):
            if key in update:
                return int(update[key]["chat"]["id"])
        query = update.get("callback_query")
        if query:
            message = query.get("message")
            return int(message["chat"]["id"]) if message else int(query["from"]["id"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def _kind(update: Mapping[str, Any]) -> str:
    kinds = [key for key in update if key != "update_id"]
    return kinds[0] if kinds and isinstance(kinds[0], str) and kinds[0].isidentifier() else "unknown"


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Unreadable(f"{where} is not an object")
    return value


def _person(user: Mapping[str, Any], chat_id: int) -> Person:
    language = user.get("language_code")
    return Person(int(user["id"]), chat_id, language if isinstance(language, str) else None)


def _message(message: Mapping[str, Any], staff_chat_id: int | None) -> Inbound:
    chat = _object(message["chat"], "message.chat")
    chat_id = int(chat["id"])
    sender = message.get("from")
    if chat.get("type") == "private":
        if not isinstance(sender, Mapping):
            return Ignored("a private message with no sender")
        return PatientMessage(_person(sender, chat_id), _event(message))
    if staff_chat_id is None or chat_id != staff_chat_id:
        return Ignored("a chat that is neither private nor the staff chat")
    post = _post(message)
    if post is None:
        return Ignored("a service message, a bot, or nothing a patient could receive")
    text = _str(message.get("text"))
    command = parse_command(text) if text is not None else None
    if command is None:
        return StaffMessage(post)
    if not isinstance(command, Command):  # /start in the staff chat
        command = Command("start", command.payload)
    return StaffMessage(post, command, text or "")


def _event(message: Mapping[str, Any]) -> Event:
    message_id = int(message["message_id"])
    text = _str(message.get("text"))
    if text is None:
        kind = next((kind for kind in MEDIA if message.get(kind)), "other")
        return NotText(message_id, _str(message.get("caption")) or "", kind)
    command = parse_command(text)
    if isinstance(command, Command):
        return replace(command, message_id=message_id)
    return command or Text(text, message_id)


def _edited(message: Mapping[str, Any], staff_chat_id: int | None) -> Inbound:
    chat = _object(message["chat"], "edited_message.chat")
    chat_id = int(chat["id"])
    sender = message.get("from")
    if chat.get("type") == "private":
        if not isinstance(sender, Mapping):
            return Ignored("a private edit with no sender")
        text = _str(message.get("text"))
        caption = _str(message.get("caption"))
        written = text if text is not None else caption
        return PatientEdit(
            _person(sender, chat_id), int(message["message_id"]), written or "", _html(message), text is None
        )
    if staff_chat_id is None or chat_id != staff_chat_id:
        return Ignored("an edit in a chat that is neither private nor the staff chat")
    post = _post(message)
    return StaffEdit(post) if post is not None else Ignored("an edit by a bot, or of a service message")


def _tap(query: Mapping[str, Any], staff_chat_id: int | None) -> Inbound:
    query_id = str(query["id"])
    user = _object(query["from"], "callback_query.from")
    data = _str(query.get("data")) or ""
    message = query.get("message")
    if message is not None:
        message = _object(message, "callback_query.message")
        chat = _object(message["chat"], "callback_query.message.chat")
        chat_id, chat_type = int(chat["id"]), chat.get("type")
        message_id: int | None = int(message["message_id"])
    else:  # a button on a message sent on the bot's behalf (inline mode): the person's own chat
        chat_id, chat_type, message_id = int(user["id"]), "private", None
    if staff_chat_id is not None and chat_id == staff_chat_id:
        if not data.startswith(STAFF_TAPS):
            return Ignored("a tap on a button that is not the coach's", query_id)
        thread = message.get("message_thread_id") if message is not None and message.get("is_topic_message") else None
        return StaffTap(query_id, int(user["id"]), _full_name(user), data, message_id, _int(thread))
    if chat_type != "private":
        return Ignored("a tap outside a private chat and the staff chat", query_id)
    # A staff button's data from a private chat is forged: the coach refuses and audits it.
    return PatientTap(_person(user, chat_id), query_id, Press(data, message_id))


def _post(message: Mapping[str, Any]) -> StaffPost | None:
    """The plain-data view of a staff chat message; None for service messages and bots."""
    user = message.get("from")
    if not isinstance(user, Mapping) or user.get("is_bot"):
        return None
    has_text = _str(message.get("text")) is not None
    media = not has_text
    if media and not any(message.get(kind) for kind in MEDIA):
        return None  # topic created, member joined...: nothing a patient should get
    thread = _int(message.get("message_thread_id")) if message.get("is_topic_message") else None
    replied = message.get("reply_to_message")
    replied_id = _int(replied.get("message_id")) if isinstance(replied, Mapping) else None
    # In a topic, every message "replies" to the topic's first message: that is no reply.
    reply_to = replied_id if replied_id is not None and replied_id != thread else None
    replied_from = replied.get("from") if isinstance(replied, Mapping) else None
    reply_to_bot = bool(reply_to and isinstance(replied_from, Mapping) and replied_from.get("is_bot"))
    html = _html(message) if has_text or _str(message.get("caption")) is not None else None
    return StaffPost(
        user_id=int(user["id"]),
        first_name=str(user.get("first_name", "")),
        message_id=int(message["message_id"]),
        thread_id=thread,
        reply_to=reply_to,
        html=html,
        media=media,
        reply_to_bot=reply_to_bot,
    )


def _html(message: Mapping[str, Any]) -> str:
    text = _str(message.get("text"))
    if text is not None:
        return entities_to_html(text, _entities(message.get("entities")))
    caption = _str(message.get("caption")) or ""
    return entities_to_html(caption, _entities(message.get("caption_entities")))


def _entities(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [e for e in value if isinstance(e, Mapping) and "offset" in e and "length" in e]


def _full_name(user: Mapping[str, Any]) -> str:
    name = " ".join(str(part) for part in (user.get("first_name"), user.get("last_name")) if part)
    return name or str(user["id"])


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unreadable("a text that is not a string")
    return value


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
