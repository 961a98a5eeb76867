"""What the fake keeps: messages and chats as they are now, the bot's calls, queued updates, webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.botapi.params import Params

Buttons = list[list[tuple[str, str | None]]]


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
    document: Params | None = None
    """A document message (sendDocument): file_id, file_name, mime_type, file_size; `text` is its caption."""
    document_data: bytes | None = field(default=None, repr=False)
    """The file the bot uploaded with sendDocument."""
    media: Params | None = None
    """A voice note, sticker, video ... a person sent: {"voice": {...}}; `text` is its caption."""

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
    user_agent: str = ""
    """The client's User-Agent header: which library made the call."""


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
    pinned: list[int] = field(default_factory=list)
    """Pinned messages' ids, the latest pinned last (Telegram shows that one on top)."""

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
