"""A fake Telegram Bot API HTTP server on 127.0.0.1, for end-to-end tests of the real bot.

The bot under test talks HTTP to this server exactly as it would to Telegram:

* aiogram: ``AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))``
* python-telegram-bot: ``telegram.Bot(tg.token, base_url=f"{tg.base_url}/bot")``

Tests play the people on the other side::

    async with FakeTelegram() as tg:
        user = tg.user(42, "Anna")
        user.send_command("/start")
        welcome = await user.wait_for_buttons()
        query = user.press("Let's begin")
        await user.wait_answered(query)
        await tg.settle()

The bot may run in the same event loop as the fake or in another process. Only
127.0.0.1 is ever listened on, and webhooks are only delivered to the local host.

Behaviour follows the Bot API closely where the bot could get it wrong: error
codes and descriptions, HTML parsing, 4096-character limit, 64-byte callback data,
"message is not modified", one-time callback answers, long polling with offsets
(updates stay queued until a later offset confirms them), 409 conflicts, blocked
users, flood control. Markdown parse modes are accepted but not parsed.

Forum supergroups (``tg.group(id, title, is_forum=True)``) have topics: createForumTopic
(only in forums; the topic opens with a service message whose id is the thread id),
editForumTopic, deleteForumTopic (and ``group.delete_topic(thread)``, a person deleting
it); sending to a deleted or unknown topic fails with "message thread not found". A
member's message in a topic carries ``message_thread_id``, ``is_topic_message`` and, as in
Telegram, a ``reply_to_message`` pointing at the topic's first message when it answers
nothing else. copyMessage copies text, entities, photo, caption and takes new markup;
people can send photos with captions and edit what they sent (``edited_message``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "TelegramError",
    "UploadedFile",
    "WebhookAttempt",
    "parse_html",
]

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # photos uploaded with multipart/form-data
MAX_CALLBACK_DATA_BYTES = 64
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

T = TypeVar("T")
Params = dict[str, Any]
Buttons = list[list[tuple[str, str | None]]]

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
GET_UPDATES_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
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


class TelegramError(Exception):
    """An error answer of the Bot API; raised inside method handlers."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> Params:
        body: Params = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------
# Parameter normalisation
# --------------------------------------------------------------------------

INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "user_id",
        "from_chat_id",
        "until_date",
        "direct_messages_topic_id",
    }
)
# Free-form strings: never JSON-decoded or turned into booleans.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "action",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "name",
    }
)
_INT_RE = re.compile(r"-?\d+")


def normalise_params(raw: Mapping[str, Any]) -> Params:
    """Turn form/query/JSON parameters into the values a JSON client would send.

    Form encodings carry everything as strings: nested objects are JSON text,
    numbers and booleans are their JSON spelling.
    """
    params: Params = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in STRING_PARAMS:
            stripped = value.strip()
            if key in INT_PARAMS and _INT_RE.fullmatch(stripped):
                value = int(stripped)
            elif stripped in ("true", "false"):
                value = stripped == "true"
            elif stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(stripped)
        params[key] = value
    return params


# --------------------------------------------------------------------------
# HTML parse mode (modelled on Telegram's own parser)
# --------------------------------------------------------------------------

SUPPORTED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "blockquote",
        "tg-emoji",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z]{1,8});")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; str() is Telegram's explanation."""


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(source: str, index: int) -> tuple[str | None, int]:
    match = _ENTITY_RE.match(source, index)
    if match is None:
        return None, index
    body = match.group(1)
    if body.startswith("#"):
        digits = body[1:]
        code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits)
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), match.end()
        return None, index
    named = _NAMED_ENTITIES.get(body)
    return (named, match.end()) if named is not None else (None, index)


def _decode_entities(raw: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        if raw[index] == "&":
            decoded, end = _decode_entity(raw, index)
            if decoded is not None:
                out.append(decoded)
                index = end
                continue
        out.append(raw[index])
        index += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    begin: int
    start16: int
    attrs: dict[str, str]


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[Params] = []

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_length(text)

    def parse(self) -> tuple[str, list[Params]]:
        source, n, i = self.source, len(self.source), 0
        while i < n:
            char = source[i]
            if char == "&":
                decoded, end = _decode_entity(source, i)
                if decoded is not None:
                    self.emit(decoded)
                    i = end
                    continue
            if char != "<":
                self.emit(char)
                i += 1
            elif i + 1 < n and source[i + 1] == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        source, n = self.source, len(self.source)
        i = begin + 1
        while i < n and not source[i].isspace() and source[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = source[begin + 1 : i].lower()
        if name not in SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}')
        attrs, i = self.attributes(i, name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}')
        self.stack.append(_OpenTag(name, begin, self.pos16, attrs))
        return i

    def attributes(self, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
        source, n = self.source, len(self.source)
        attrs: dict[str, str] = {}
        unclosed = HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        while True:
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise unclosed
            if source[i] == ">":
                return attrs, i + 1
            start = i
            while i < n and not source[i].isspace() and source[i] not in "=>":
                i += 1
            name = source[start:i].lower()
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise unclosed
            if source[i] != "=":  # a bare attribute, e.g. <blockquote expandable>
                attrs[name] = ""
                continue
            i += 1
            while i < n and source[i].isspace():
                i += 1
            if i >= n:
                raise unclosed
            if source[i] in "\"'":
                end = source.find(source[i], i + 1)
                if end < 0:
                    raise unclosed
                raw, i = source[i + 1 : end], end + 1
            else:
                start = i
                while i < n and not source[i].isspace() and source[i] != ">":
                    i += 1
                raw = source[start:i]
            attrs[name] = _decode_entities(raw)

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        end = self.source.find(">", begin + 2)
        if end < 0:
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        name = self.source[begin + 2 : end].strip().lower()
        top = self.stack.pop()
        if name != top.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.close_entity(top)
        return end + 1

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.pos16 - tag.start16
        language = tag.attrs.get("class", "")
        in_pre = bool(self.stack) and self.stack[-1].name == "pre"
        if tag.name == "code" and language.startswith("language-") and in_pre:
            self.stack[-1].attrs["_language"] = language.removeprefix("language-")
            return
        if length <= 0:
            return
        entity: Params = {
            "type": _ENTITY_TYPES[tag.name],
            "offset": tag.start16,
            "length": length,
        }
        if tag.name == "a":
            href = tag.attrs.get("href")
            if not href:
                return
            entity["url"] = href
        elif tag.name == "pre" and tag.attrs.get("_language"):
            entity["language"] = tag.attrs["_language"]
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            emoji_id = tag.attrs.get("emoji-id")
            if not emoji_id:
                return
            entity["custom_emoji_id"] = emoji_id
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[Params]]:
    """Parse Telegram HTML into (plain text, entities); raise HtmlParseError."""
    return _HtmlParser(source).parse()


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded with multipart/form-data (a photo)."""

    filename: str
    content_type: str
    data: bytes


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, or None when the bytes are neither (Telegram refuses them)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


@dataclass
class FakeMessage:
    """A message in a fake chat, in its current state (after any edits)."""

    message_id: int
    chat_id: int
    text: str
    """Visible text: HTML tags removed and entities decoded."""
    html: str
    """The text exactly as the bot sent it (HTML source when parse_mode=HTML)."""
    buttons: Buttons = field(default_factory=list)
    """Inline keyboard as rows of (label, callback_data); url buttons have None."""
    edits: int = 0
    thread_id: int | None = None
    date: int = 0
    from_bot: bool = True
    parse_mode: str | None = None
    entities: list[Params] = field(default_factory=list)
    reply_markup: Params | None = None
    """The markup as sent (inline keyboards and reply keyboards alike)."""
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    sender: Params = field(default_factory=dict, repr=False)
    chat: Params = field(default_factory=dict, repr=False)
    seq: int = field(default=0, repr=False)
    """Global order in which the bot sent it (see FakeUser.mark)."""
    photo: list[Params] | None = None
    """A photo message: its sizes; `text` is then its caption."""
    service: Params | None = None
    """A service message (e.g. {"forum_topic_created": {...}}): not a message anyone wrote."""
    updated_seq: int = field(default=0, repr=False)
    """Global order of the bot's last change to it (sending or editing)."""
    photo_data: bytes | None = field(default=None, repr=False)
    """The image of a photo the bot uploaded (sendPhoto); its caption is `text` (visible) and `html`."""

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    @property
    def inline_markup(self) -> Params | None:
        markup = self.reply_markup
        if markup is not None and "inline_keyboard" in markup:
            return {"inline_keyboard": markup["inline_keyboard"]}
        return None


@dataclass
class ApiCall:
    """One request the bot made. Recorded on arrival; completed when answered."""

    method: str
    """Canonical name, e.g. "sendMessage", whatever case the bot used."""
    params: Params
    timestamp: float
    """time.monotonic() at arrival."""
    chat_id: int | None
    ok: bool = False
    finished: bool = False
    error_code: int | None = None
    description: str | None = None
    result: Any = None


@dataclass
class WebhookAttempt:
    update_id: int
    timestamp: float
    status: int | None
    """HTTP status of the bot's answer; None when the connection failed."""
    error: str | None = None


@dataclass
class _Update:
    update_id: int
    payload: Params
    handed_out: bool = False

    @property
    def kind(self) -> str:
        return next((k for k in self.payload if k != "update_id"), "")


@dataclass
class _Chat:
    info: Params
    next_message_id: int = 1
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    """Forum topics: thread id -> name."""

    @property
    def id(self) -> int:
        return int(self.info["id"])

    def bot_messages(self) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.from_bot and m.service is None]


@dataclass
class _CallbackQuery:
    query_id: str
    chat_id: int
    message_id: int
    data: str
    answer: Params | None = None


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


# --------------------------------------------------------------------------
# People and groups
# --------------------------------------------------------------------------


class _ChatView:
    """What a person sees of one chat with the bot (shared by users and groups)."""

    tg: FakeTelegram
    _mark: int

    def _cid(self) -> int:
        raise NotImplementedError

    @property
    def messages(self) -> list[FakeMessage]:
        """The bot's messages in this chat, oldest first, as they are now (snapshots)."""
        return self.tg.messages(self._cid())

    @property
    def last_message(self) -> FakeMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def buttons(self) -> Buttons:
        """Keyboard of the latest bot message that has one ([] if none)."""
        with_buttons = [m for m in self.messages if m.buttons]
        return with_buttons[-1].buttons if with_buttons else []

    def mark(self) -> None:
        """Remember this moment; later waits only look at what comes after."""
        self._mark = self.tg._seq

    @property
    def new_messages(self) -> list[FakeMessage]:
        """Bot messages sent after the last mark()."""
        return [m for m in self.messages if m.seq > self._mark]

    def _changed_since_mark(self) -> list[FakeMessage]:
        return [m for m in self.messages if m.updated_seq > self._mark]

    async def wait_for_text(self, substring: str, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        """Wait for a bot message sent (or edited) after mark() containing substring.

        Case-insensitive, on the plain text. Returns the first such message.
        """
        needle = substring.casefold()

        def find() -> FakeMessage | None:
            return next(
                (m for m in self._changed_since_mark() if needle in m.text.casefold()),
                None,
            )

        return await self.tg._wait_until(
            find,
            timeout,
            lambda: (
                f"no bot message containing {substring!r} in chat {self._cid()} within {timeout}s. {self._report()}"
            ),
        )

    async def wait_for_buttons(self, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        """Wait until the latest bot message has an inline keyboard and was sent
        (or edited) after mark(); return it."""

        def find() -> FakeMessage | None:
            last = self.last_message
            if last is not None and last.buttons and last.updated_seq > self._mark:
                return last
            return None

        return await self.tg._wait_until(
            find,
            timeout,
            lambda: f"no new bot message with buttons in chat {self._cid()} within {timeout}s. {self._report()}",
        )

    async def wait_answered(self, callback_query_id: str, timeout: float = 5.0) -> Params:  # noqa: ASYNC109
        """Wait for the bot's answerCallbackQuery; return its parameters."""
        return await self.tg.wait_answered(callback_query_id, timeout)

    def _report(self) -> str:
        since = [m.text for m in self._changed_since_mark()]
        earlier = [m.text for m in self.messages if m.updated_seq <= self._mark]
        failed = [
            f"{c.method} -> {c.error_code} {c.description}"
            for c in self.tg.calls
            if c.finished and not c.ok and c.chat_id == self._cid()
        ]
        lines = [f"Bot messages since mark: {since!r}."]
        if earlier:
            lines.append(f"Before the mark (last 3): {earlier[-3:]!r}.")
        if failed:
            lines.append(f"Failed calls for this chat: {failed[-5:]!r}.")
        return " ".join(lines)


@dataclass(eq=False)
class FakeUser(_ChatView):
    """A person in a private chat with the bot (chat id == user id)."""

    tg: FakeTelegram = field(repr=False)
    user_id: int
    first_name: str = "Pat"
    language_code: str = "en"
    blocked: bool = False
    """While True, every send/edit to this chat fails with 403."""
    _mark: int = field(default=0, init=False, repr=False)

    def _cid(self) -> int:
        return self.user_id

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def as_user(self) -> Params:
        """The Bot API User object of this person."""
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    def send_text(self, text: str) -> int:
        """Queue a message from this person; returns its update_id."""
        return self.tg._user_message(self.user_id, self.as_user, text)

    def send_command(self, cmd: str, args: str = "") -> int:
        """Queue "/cmd args" (cmd with or without the slash)."""
        return self.send_text(_command_text(cmd, args))

    def send_photo(self, caption: str = "") -> int:
        """Queue a photo (with an optional caption) from this person; returns its update_id."""
        return self.tg._user_message(self.user_id, self.as_user, caption, photo=True)

    def edit(self, message_id: int, text: str) -> int:
        """Edit a message this person sent (its text, or a photo's caption); queues edited_message."""
        return self.tg._user_edit(self.user_id, self.user_id, message_id, text)

    @property
    def sent(self) -> list[FakeMessage]:
        """The messages this person sent, oldest first."""
        return self.tg._people_messages(self.user_id)

    def press(self, label_or_data: str, message_id: int | None = None) -> str:
        """Tap an inline button of the latest (or given) bot message with buttons.

        Matches the label first, then the callback_data. Returns the query id.
        """
        return self.tg._press(self.user_id, self.as_user, label_or_data, message_id)


@dataclass(eq=False)
class FakeGroup(_ChatView):
    """A group (or forum supergroup) with the bot in it."""

    tg: FakeTelegram = field(repr=False)
    chat_id: int
    title: str
    is_forum: bool = False
    _mark: int = field(default=0, init=False, repr=False)

    def _cid(self) -> int:
        return self.chat_id

    def send_text(
        self,
        from_user_id: int,
        text: str,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queue a message from a member; returns its update_id."""
        return self.tg._user_message(
            self.chat_id,
            self.tg._user_object(from_user_id),
            text,
            thread_id=thread_id,
            reply_to_message_id=reply_to_message_id,
        )

    def send_command(self, from_user_id: int, cmd: str, args: str = "", thread_id: int | None = None) -> int:
        return self.send_text(from_user_id, _command_text(cmd, args), thread_id)

    def send_photo(
        self, from_user_id: int, caption: str = "", thread_id: int | None = None, reply_to_message_id: int | None = None
    ) -> int:
        return self.tg._user_message(
            self.chat_id,
            self.tg._user_object(from_user_id),
            caption,
            thread_id=thread_id,
            reply_to_message_id=reply_to_message_id,
            photo=True,
        )

    def edit(self, from_user_id: int, message_id: int, text: str) -> int:
        """A member edits their message; queues edited_message."""
        return self.tg._user_edit(self.chat_id, from_user_id, message_id, text)

    @property
    def topics(self) -> dict[int, str]:
        """Open forum topics: thread id -> name."""
        return dict(self.tg._chats[self.chat_id].topics)

    def topic_messages(self, thread_id: int) -> list[FakeMessage]:
        """The bot's messages in one topic, oldest first."""
        return [m for m in self.messages if m.thread_id == thread_id]

    def delete_topic(self, thread_id: int) -> None:
        """A member deletes a topic, with everything in it (as an admin can in Telegram)."""
        self.tg._delete_topic(self.tg._chats[self.chat_id], thread_id)

    @property
    def sent(self) -> list[FakeMessage]:
        """What members sent here, oldest first."""
        return self.tg._people_messages(self.chat_id)

    def press(self, from_user_id: int, label_or_data: str, message_id: int | None = None) -> str:
        return self.tg._press(self.chat_id, self.tg._user_object(from_user_id), label_or_data, message_id)


def _command_text(cmd: str, args: str) -> str:
    text = "/" + cmd.lstrip("/")
    return f"{text} {args}" if args else text


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

Handler = Callable[[Params], Awaitable[Any]]
_client_alive: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("_client_alive", default=None)


class FakeTelegram:
    """A local Bot API server holding fake chats; see the module docstring."""

    webhook_retry_delay = 0.2
    webhook_max_tries = 50
    webhook_timeout = 10.0

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_id: int = 123456,
        bot_username: str = "paincoach_test_bot",
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.calls: list[ApiCall] = []
        self.webhook_attempts: list[WebhookAttempt] = []

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[_Update] = []
        self._next_update_id = 100_000_001
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._next_callback = 1
        self._seq = 0
        self._file_seq = 0
        self._photos: dict[str, tuple[bytes, tuple[int, int]]] = {}  # file_id -> (image, (width, height))
        self._commands: dict[tuple[str, str], list[Params]] = {}
        self._webhook: _Webhook | None = None
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0

        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._rate_per_chat: float | None = None
        self._rate_global: float | None = None
        self._chat_sends: dict[int, deque[float]] = {}
        self._global_sends: deque[float] = deque()

        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._last_activity = time.monotonic()
        self._in_flight = 0
        self._webhook_busy = False

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
            ("copyMessage", self._copy_message),
            ("editMessageCaption", self._edit_message_caption),
            ("getChat", self._get_chat),
            ("createForumTopic", self._create_forum_topic),
            ("editForumTopic", self._edit_forum_topic),
            ("deleteForumTopic", self._delete_forum_topic),
            ("editMessageText", self._edit_message_text),
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

    @property
    def bot_user(self) -> Params:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "PainCoach Test",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ---- people, chats, updates -----------------------------------------

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

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest message sent or edited; later ones have higher."""
        return self._seq

    def messages(self, chat_id: int) -> list[FakeMessage]:
        """The bot's messages in a chat, oldest first ([] for unknown chats).

        Snapshots: later edits change what the next call returns, never a
        FakeMessage a test already holds.
        """
        chat = self._chats.get(chat_id)
        return copy.deepcopy(chat.bot_messages()) if chat else []

    def queue_update(self, update: Params) -> int:
        """Queue any update object (update_id is assigned); returns the id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append(_Update(update_id, {"update_id": update_id, **update}))
        self._touch()
        return update_id

    @property
    def pending_updates(self) -> list[Params]:
        """Updates not yet confirmed by the bot (or delivered to its webhook)."""
        return [u.payload for u in self._updates]

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    def commands(self, scope: Params | None = None, language_code: str = "") -> list[Params]:
        """Commands the bot set for this scope and language."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def unanswered_callbacks(self) -> list[str]:
        """Ids of button taps the bot has not answered (Telegram shows a spinner until it does)."""
        return [q.query_id for q in self._callbacks.values() if q.answer is None]

    @property
    def callback_count(self) -> int:
        return len(self._callbacks)

    def calls_of(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (name case-insensitive)."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def _user_object(self, user_id: int) -> Params:
        person = self._users.get(user_id)
        if person is not None:
            return person.as_user
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def _user_message(
        self,
        chat_id: int,
        sender: Params,
        text: str,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        photo: bool = False,
    ) -> int:
        chat = self._chats[chat_id]
        if thread_id is not None and chat.info.get("is_forum") and thread_id not in chat.topics:
            raise AssertionError(f"no topic {thread_id} in chat {chat_id} (topics: {chat.topics!r})")
        message_id = self._take_message_id(chat)
        message = FakeMessage(
            message_id=message_id,
            chat_id=chat_id,
            text=text,
            html=text,
            thread_id=thread_id,
            date=int(time.time()),
            from_bot=False,
            entities=[] if photo else _command_entities(text),
            reply_to_message_id=reply_to_message_id,
            sender=sender,
            chat=chat.info,
            photo=_photo_sizes(chat_id, message_id) if photo else None,
        )
        chat.messages[message.message_id] = message
        return self.queue_update({"message": self._api_message(chat, message)})

    def _user_edit(self, chat_id: int, from_user_id: int, message_id: int, text: str) -> int:
        chat = self._chats[chat_id]
        message = chat.messages.get(message_id)
        if message is None or message.from_bot or message.sender.get("id") != from_user_id:
            raise AssertionError(f"user {from_user_id} sent no message {message_id} in chat {chat_id}")
        message.text = message.html = text
        message.entities = [] if message.photo else _command_entities(text)
        message.edit_date = int(time.time())
        return self.queue_update({"edited_message": self._api_message(chat, message)})

    def _people_messages(self, chat_id: int) -> list[FakeMessage]:
        chat = self._chats.get(chat_id)
        return copy.deepcopy([m for m in chat.messages.values() if not m.from_bot]) if chat else []

    def _delete_topic(self, chat: _Chat, thread_id: int) -> None:
        if thread_id not in chat.topics:
            raise _bad_request("TOPIC_ID_INVALID")
        del chat.topics[thread_id]
        for message_id in [m.message_id for m in chat.messages.values() if m.thread_id == thread_id]:
            del chat.messages[message_id]
        self._touch()

    def _press(
        self,
        chat_id: int,
        sender: Params,
        label_or_data: str,
        message_id: int | None,
    ) -> str:
        chat = self._chats[chat_id]
        if message_id is None:
            keyboards = [m for m in chat.bot_messages() if m.buttons]
            if not keyboards:
                texts = [m.text[:80] for m in chat.bot_messages()[-3:]]
                raise AssertionError(
                    f"no bot message with an inline keyboard in chat {chat_id}; latest bot messages: {texts!r}"
                )
            message = keyboards[-1]
        else:
            found = chat.messages.get(message_id)
            if found is None or not found.from_bot:
                raise AssertionError(f"no bot message {message_id} in chat {chat_id}")
            message = found
        buttons = [button for row in message.buttons for button in row]
        match = next((b for b in buttons if b[0] == label_or_data), None)
        if match is None:
            match = next((b for b in buttons if b[1] == label_or_data), None)
        if match is None:
            raise AssertionError(
                f"no button {label_or_data!r} on message {message.message_id} "
                f"({message.text[:80]!r}); available buttons: {buttons!r}"
            )
        label, data = match
        if data is None:
            raise AssertionError(f"button {label!r} has no callback_data")
        query_id = str(4_000_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._callbacks[query_id] = _CallbackQuery(query_id, chat_id, message.message_id, data)
        self.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "message": self._api_message(chat, message),
                    "chat_instance": str(-(abs(chat_id) * 7 + 3)),
                    "data": data,
                }
            }
        )
        return query_id

    def _take_message_id(self, chat: _Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _api_message(self, chat: _Chat, message: FakeMessage, nested: bool = False) -> Params:
        body: Params = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.info,
            "from": message.sender,
        }
        if message.service is not None:
            body.update(message.service)
        elif message.photo is not None:
            body["photo"] = message.photo
            if message.text:
                body["caption"] = message.text
                if message.entities:
                    body["caption_entities"] = message.entities
        else:
            body["text"] = message.text
            if message.entities:
                body["entities"] = message.entities
        if message.thread_id is not None:
            body["message_thread_id"] = message.thread_id
            if chat.info.get("is_forum"):
                body["is_topic_message"] = True
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.inline_markup is not None:
            body["reply_markup"] = message.inline_markup
        reply_to = chat.messages.get(message.reply_to_message_id or 0)
        if reply_to is None and chat.info.get("is_forum") and message.thread_id is not None:
            # In a topic, a message that answers nothing else answers the topic's first message.
            reply_to = chat.messages.get(message.thread_id) if message.message_id != message.thread_id else None
        if reply_to is not None and not nested:
            body["reply_to_message"] = self._api_message(chat, reply_to, nested=True)
        return body

    # ---- failure injection and limits ------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) with an error.

        With chat_id, only calls for that chat count.
        """
        self._failures.append(_Failure(method.lower(), error_code, description, retry_after, count, chat_id))

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Hold the next `count` calls of `method` ("*" for any) for `seconds`
        before handling them (they still take effect if the client gave up)."""
        self._delays.append(_Delay(method.lower(), seconds, count))

    def rate_limit(
        self,
        per_chat_per_second: float | None = None,
        global_per_second: float | None = None,
    ) -> None:
        """Flood control for sendMessage: over the limit gives 429 retry_after."""
        self._rate_per_chat = per_chat_per_second
        self._rate_global = global_per_second
        self._chat_sends.clear()
        self._global_sends.clear()

    def _take_failure(self, method: str, chat_id: int | None) -> TelegramError | None:
        for failure in self._failures:
            if failure.method not in ("*", method.lower()):
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            return TelegramError(failure.error_code, failure.description, failure.retry_after)
        return None

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method in ("*", method.lower()):
                delay.remaining -= 1
                if delay.remaining <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        limits = (
            (self._rate_per_chat, self._chat_sends.setdefault(chat_id, deque())),
            (self._rate_global, self._global_sends),
        )
        for limit, sends in limits:
            if limit is None or limit <= 0:
                continue
            window = max(1.0, 1.0 / limit)
            allowed = max(1, math.floor(limit * window + 1e-9))
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= allowed:
                retry = max(1, math.ceil(sends[0] + window - now))
                raise TelegramError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    def _count_send(self, chat_id: int) -> None:
        now = time.monotonic()
        self._chat_sends.setdefault(chat_id, deque()).append(now)
        self._global_sends.append(now)

    # ---- waiting ---------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, at_most: float) -> None:
        if at_most <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), at_most)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _wait_until(self, find: Callable[[], T | None], within: float, explain: Callable[[], str]) -> T:
        deadline = time.monotonic() + within
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(explain())
            # Wake on changes here, and poll for changes made elsewhere.
            await self._wait_change(min(remaining, 0.05))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until predicate() is true; AssertionError after timeout."""
        await self._wait_until(
            lambda: True if predicate() else None,
            timeout,
            lambda: f"condition not met within {timeout}s",
        )

    async def wait_answered(self, callback_query_id: str, timeout: float = 5.0) -> Params:  # noqa: ASYNC109
        """Wait for answerCallbackQuery of this query; return its parameters."""
        if callback_query_id not in self._callbacks:
            raise AssertionError(f"unknown callback query {callback_query_id!r}")
        query = self._callbacks[callback_query_id]
        return await self._wait_until(
            lambda: query.answer,
            timeout,
            lambda: f"callback query {callback_query_id} ({query.data!r}) was not answered within {timeout}s",
        )

    def _busy(self) -> str | None:
        if self._in_flight:
            return f"{self._in_flight} API call(s) in progress"
        if self._webhook_busy:
            return "a webhook delivery is in progress"
        waiting = len(self._updates) if self._webhook else sum(not u.handed_out for u in self._updates)
        if waiting:
            return f"{waiting} update(s) not yet received by the bot"
        return None

    async def settle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once all queued updates reached the bot and no API call has
        arrived (or been in progress) for `quiet` seconds. Long polls don't count."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = self._busy()
            if busy is None and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"fake Telegram did not settle within {timeout}s: {busy or 'API calls kept arriving'}"
                )
            await asyncio.sleep(min(0.02, quiet / 2 or 0.01))

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
        if token != self.token:
            call = self._record(method, params)
            unauthorized = TelegramError(401, "Unauthorized").to_json()
            self._finish(call, unauthorized)
            return web.json_response(unauthorized, status=401)

        def alive() -> bool:
            transport = request.transport
            return transport is not None and not transport.is_closing()

        _client_alive.set(alive)
        status, body = await self._execute(method, params)
        return web.json_response(body, status=status)

    def _record(self, method: str, params: Params) -> ApiCall:
        entry = self._methods.get(method.lower())
        chat_id = params.get("chat_id")
        call = ApiCall(
            method=entry[0] if entry else method,
            params=params,
            timestamp=time.monotonic(),
            chat_id=chat_id if isinstance(chat_id, int) else None,
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

    async def _execute(self, method: str, params: Params) -> tuple[int, Params]:
        """Run one Bot API method and give (HTTP status, JSON body)."""
        call = self._record(method, params)
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
            status, body = 200, {"ok": True, "result": await entry[1](params)}
        except TelegramError as error:
            status, body = error.error_code, error.to_json()
        finally:
            if not polling:
                self._in_flight -= 1
                self._touch()
        self._finish(call, body)
        return status, body

    # ---- shared validation ------------------------------------------------

    def _chat(self, params: Params) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        person = self._users.get(chat.id)
        if person is not None and person.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _formatted_text(self, params: Params) -> tuple[str, list[Params]]:
        raw = params.get("text")
        text = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode")
        entities: list[Params] = []
        if isinstance(parse_mode, str) and parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    text, entities = parse_html(text)
                except HtmlParseError as error:
                    raise _bad_request(f"can't parse entities: {error}") from None
            elif mode not in ("markdown", "markdownv2"):
                raise _bad_request("unsupported parse_mode")
        elif isinstance(params.get("entities"), list):
            entities = list(params["entities"])
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, entities

    def _message_to_edit(self, params: Params) -> tuple[_Chat, FakeMessage]:
        if params.get("inline_message_id"):
            raise _bad_request("message to edit not found")
        chat = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return chat, message

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ---- Bot API methods ---------------------------------------------------

    async def _get_me(self, params: Params) -> Any:
        return self.bot_user

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

    async def _send_message(self, params: Params) -> Any:
        chat = self._chat(params)
        text, entities = self._formatted_text(params)
        markup = _reply_markup(params.get("reply_markup"))
        reply_to = _reply_target(params)
        if reply_to is not None and reply_to[0] not in chat.messages:
            if not reply_to[1]:
                raise _bad_request("message to be replied not found")
            reply_to = None
        thread_id = self._thread(chat, params)
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=text,
            html=str(params.get("text")),
            buttons=_buttons(markup),
            thread_id=thread_id if isinstance(thread_id, int) else None,
            date=int(time.time()),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to[0] if reply_to else None,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
        )
        chat.messages[message.message_id] = message
        return self._api_message(chat, message)

    async def _send_photo(self, params: Params) -> Any:
        chat = self._chat(params)
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):  # a file in another part of the form
            photo = params.get(photo.removeprefix("attach://"))
        if photo is None or photo == "":
            raise _bad_request("there is no photo in the request")
        if isinstance(photo, UploadedFile):
            if len(photo.data) > MAX_PHOTO_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            size = image_size(photo.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            data = photo.data
            self._file_seq += 1
            file_id = f"AgACAgQAAxkDAAI{self._file_seq:06d}"
            self._photos[file_id] = (data, size)
        elif isinstance(photo, str) and photo in self._photos:  # a file_id sent before
            file_id = photo
            data, size = self._photos[photo]
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        caption, entities = self._formatted_caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        width, height = size
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=caption,
            html=str(params.get("caption") or ""),
            buttons=_buttons(markup),
            thread_id=thread_id if isinstance(thread_id, int) else None,
            date=int(time.time()),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
            photo_data=data,
            photo=[
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-8:]}",
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                },
            ],
        )
        chat.messages[message.message_id] = message
        return self._api_message(chat, message)

    def _formatted_caption(self, params: Params) -> tuple[str, list[Params]]:
        raw = params.get("caption")
        caption = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        entities: list[Params] = []
        parse_mode = params.get("parse_mode")
        if caption and isinstance(parse_mode, str) and parse_mode.lower() == "html":
            try:
                caption, entities = parse_html(caption)
            except HtmlParseError as error:
                raise _bad_request(f"can't parse entities: {error}") from None
        elif (
            caption
            and isinstance(parse_mode, str)
            and parse_mode
            and parse_mode.lower() not in ("markdown", "markdownv2")
        ):
            raise _bad_request("unsupported parse_mode")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return caption, entities

    def _thread(self, chat: _Chat, params: Params) -> int | None:
        """The message_thread_id of a send, checked in forums (elsewhere Telegram ignores it)."""
        thread_id = params.get("message_thread_id")
        if not isinstance(thread_id, int):
            return None
        if chat.info.get("is_forum") and thread_id not in chat.topics:
            raise _bad_request("message thread not found")
        return thread_id

    async def _copy_message(self, params: Params) -> Any:
        chat = self._chat(params)
        source_id = params.get("from_chat_id")
        source_chat = self._chats.get(source_id) if isinstance(source_id, int) else None
        if source_chat is None:
            raise _bad_request("chat not found")
        original = source_chat.messages.get(params.get("message_id") or 0)
        if original is None:
            raise _bad_request("message to copy not found")
        if original.service is not None:
            raise _bad_request("message can't be copied")
        markup = _reply_markup(params.get("reply_markup"))
        thread_id = self._thread(chat, params)
        text, entities, html = original.text, original.entities, original.html
        if original.photo is not None and "caption" in params:
            text, entities = self._formatted_text({**params, "text": params.get("caption") or " "})
            html = str(params.get("caption") or "")
            if len(text) > 1024:
                raise _bad_request("message caption is too long")
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=text,
            html=html,
            buttons=_buttons(markup),
            thread_id=thread_id,
            date=int(time.time()),
            entities=list(entities),
            reply_markup=markup,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
            photo=copy.deepcopy(original.photo),
            photo_data=original.photo_data,
        )
        chat.messages[message.message_id] = message
        return {"message_id": message.message_id}

    async def _edit_message_caption(self, params: Params) -> Any:
        self._chat(params)
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if message.photo is None:
            raise _bad_request("there is no caption in the message to edit")
        raw = params.get("caption") or ""
        text, entities = self._formatted_text({**params, "text": raw}) if raw else ("", [])
        if len(text) > 1024:
            raise _bad_request("message caption is too long")
        if text == message.text and _same(entities, message.entities) and _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text, message.html, message.entities = text, str(raw), entities
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

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
            date=int(time.time()),
            sender=self.bot_user,
            chat=chat.info,
            service={"forum_topic_created": created, "message_thread_id": thread_id, "is_topic_message": True},
        )
        return {"message_thread_id": thread_id, **created}

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

    async def _edit_message_text(self, params: Params) -> Any:
        self._chat(params)  # unknown or blocked chats fail before the text is read
        text, entities = self._formatted_text(params)
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if message.photo is not None:
            raise _bad_request("there is no text in the message to edit")
        if text == message.text and _same(entities, message.entities) and _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text = text
        message.html = str(params.get("text"))
        message.entities = entities
        message.parse_mode = params.get("parse_mode")
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

    async def _edit_message_reply_markup(self, params: Params) -> Any:
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

    def _apply_edit(self, message: FakeMessage, markup: Params | None) -> None:
        message.reply_markup = markup
        message.buttons = _buttons(markup)
        message.edits += 1
        message.edit_date = int(time.time())
        message.updated_seq = self._next_seq()

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


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


async def _read_params(request: web.Request) -> Params:
    raw: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            raw.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    return normalise_params(raw)


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


def _photo_sizes(chat_id: int, message_id: int) -> list[Params]:
    unique = f"{abs(chat_id)}-{message_id}"
    return [
        {"file_id": f"photo-{size}-{unique}", "file_unique_id": f"{size}{unique}", "width": w, "height": h}
        for size, w, h in (("s", 90, 60), ("m", 800, 533))
    ]


def _command_entities(text: str) -> list[Params]:
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]


def _reply_target(params: Params) -> tuple[int, bool] | None:
    """(message id, allow_sending_without_reply) from either spelling."""
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return reply["message_id"], bool(reply.get("allow_sending_without_reply"))
    if isinstance(params.get("reply_to_message_id"), int):
        allow = bool(params.get("allow_sending_without_reply"))
        return params["reply_to_message_id"], allow
    return None


def _reply_markup(value: Any, inline_only: bool = False) -> Params | None:
    """Validate reply_markup like Telegram; give it back (None if absent)."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if inline_only:
            raise _bad_request("inline keyboard expected")
        return value
    keyboard = value["inline_keyboard"]
    if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in _iter_buttons(keyboard):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [k for k in button if k != "text"]
        if not actions:
            raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+", url):
                raise _bad_request("BUTTON_URL_INVALID")
    return {"inline_keyboard": keyboard}


def _iter_buttons(keyboard: list[list[Any]]) -> Iterator[Any]:
    for row in keyboard:
        yield from row


def _buttons(markup: Params | None) -> Buttons:
    if markup is None or "inline_keyboard" not in markup:
        return []
    return [[(str(b["text"]), b.get("callback_data")) for b in row] for row in markup["inline_keyboard"]]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a or None, sort_keys=True) == json.dumps(b or None, sort_keys=True)
