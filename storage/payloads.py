"""What one outbox row asks Telegram to do, as typed data: one payload type per kind of row.

Every part of the coach queues a payload through `storage.outbox.enqueue`; the sender reads it
back with `payload_from` and hands it to a transport (bot/), which turns it into a Bot API call.
The JSON stored in the `outbox.payload` column keeps the same keys as before these types existed,
so rows written by an older release are still sent.

Two fields name things that exist only once something else has been sent, and are filled in by
the outbox when a row is claimed: `message_ref` (an earlier outbox row, whose Telegram message is
edited) and `topic_of` (a patient, whose forum topic in the staff chat the row goes to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dialogs.actions import ChartSeries

Buttons = tuple[tuple[str, str], ...]  # (label, callback data), laid out `per_row` to a row


def buttons_of(rows: Sequence[Sequence[str]] | None) -> Buttons:
    return tuple((str(label), str(data)) for label, data in rows or ())


@dataclass(frozen=True)
class Where:
    """Where in a chat: a forum topic by id, or a patient's topic in the staff chat (filled in later)."""

    thread_id: int | None = None
    topic_of: int | None = None  # patient id: their topic's thread is filled in when the row is claimed


@dataclass(frozen=True)
class Message:
    kind: ClassVar[str] = "message"
    text: str
    buttons: Buttons = ()
    per_row: int = 1
    typing: bool = False  # show "typing..." first (to patients, in conversation)
    where: Where = field(default_factory=Where)
    reply_to: int | None = None
    card: bool = False  # a patient card at the top of their topic (not sent again once the topic is made anew)
    forget: bool = False  # the row is deleted once it is done with (the goodbye to an erased patient)


@dataclass(frozen=True)
class Copy:
    """copyMessage: a patient's message (photos and voice notes too) into the staff chat, or back."""

    kind: ClassVar[str] = "copy"
    from_chat_id: int
    message_id: int
    buttons: Buttons = ()
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class Photo:
    """A picture with an HTML caption: a chart drawn when it is sent, or a ready PNG (base64)."""

    kind: ClassVar[str] = "photo"
    caption: str = ""
    chart: tuple[ChartSeries, ...] = ()
    png_base64: str | None = None
    filename: str = "chart.png"
    buttons: Buttons = ()
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class Document:
    """A file to keep (a lesson's key points and do-it-yourself guide as a PDF), with an HTML
    caption; the file itself in base64 (a handout is a few kilobytes)."""

    kind: ClassVar[str] = "document"
    filename: str
    data_base64: str
    caption: str = ""
    buttons: Buttons = ()
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class Edit:
    """Rewrite a message of the coach's (its text, or its caption), with new buttons (or none).

    The message is `message_id`, or the one sent from outbox row `message_ref`."""

    kind: ClassVar[str] = "edit"
    text: str
    buttons: Buttons = ()
    per_row: int = 1
    caption: bool = False
    message_id: int | None = None
    message_ref: int | None = None


@dataclass(frozen=True)
class EditButtons:
    """Change only the buttons under a message (none: remove them)."""

    kind: ClassVar[str] = "markup"
    buttons: Buttons = ()
    message_id: int | None = None
    message_ref: int | None = None


@dataclass(frozen=True)
class CreateTopic:
    """A forum topic in the staff chat; delivered with its thread id."""

    kind: ClassVar[str] = "topic"
    name: str


@dataclass(frozen=True)
class RenameTopic:
    kind: ClassVar[str] = "topic_edit"
    name: str
    where: Where = field(default_factory=Where)


@dataclass(frozen=True)
class DeleteTopic:
    """deleteForumTopic: an erased patient's topic in the staff chat, with every message in it.
    Its row is deleted once it is done with, like every row that `forgets`."""

    kind: ClassVar[str] = "topic_delete"
    thread_id: int
    forget: ClassVar[bool] = True


Payload = Message | Copy | Photo | Document | Edit | EditButtons | CreateTopic | RenameTopic | DeleteTopic


def forgets(payload: Payload) -> bool:
    """Whether the row must leave nothing behind once it is sent, or given up on (erasure's last words)."""
    return bool(getattr(payload, "forget", False))


class UnknownPayload(ValueError):
    """An outbox row of a kind (or shape) this release does not know."""


def to_json(payload: Payload) -> dict[str, Any]:
    """The row's JSON: only what is set, in the keys the outbox has always used."""
    data: dict[str, Any] = {}
    if isinstance(payload, Message | Copy | Photo | Document | Edit | EditButtons):
        data["buttons"] = [list(b) for b in payload.buttons]
    if isinstance(payload, Message | Copy | Photo | Document | RenameTopic):
        if payload.where.thread_id is not None:
            data["thread_id"] = payload.where.thread_id
        if payload.where.topic_of is not None:
            data["topic_of"] = payload.where.topic_of
    if isinstance(payload, Edit | EditButtons):
        if payload.message_id is not None:
            data["message_id"] = payload.message_id
        if payload.message_ref is not None:
            data["message_ref"] = payload.message_ref
    if isinstance(payload, Message):
        data.update(text=payload.text, per_row=payload.per_row, typing=payload.typing)
        if payload.reply_to is not None:
            data["reply_to"] = payload.reply_to
        if payload.card:
            data["card"] = True
        if payload.forget:
            data["forget"] = True
    elif isinstance(payload, Copy):
        data.update(from_chat_id=payload.from_chat_id, message_id=payload.message_id)
    elif isinstance(payload, Photo):
        data.update(caption=payload.caption, filename=payload.filename)
        if payload.chart:
            data["chart"] = chart_json(payload.chart)
        if payload.png_base64 is not None:
            data["photo"] = payload.png_base64
    elif isinstance(payload, Document):
        data.update(filename=payload.filename, document=payload.data_base64, caption=payload.caption)
    elif isinstance(payload, Edit):
        data.update(text=payload.text, per_row=payload.per_row)
        if payload.caption:
            data["caption"] = True
    elif isinstance(payload, CreateTopic | RenameTopic):
        data["name"] = payload.name
    elif isinstance(payload, DeleteTopic):
        data["thread_id"] = payload.thread_id
    return data


def payload_from(kind: str, data: dict[str, Any]) -> Payload:
    """Read a row back; UnknownPayload when its kind or shape is not one this release sends."""
    try:
        return _read(kind, data)
    except (KeyError, TypeError, ValueError) as error:
        raise UnknownPayload(f"outbox {kind} row: {type(error).__name__}") from None


def _read(kind: str, data: dict[str, Any]) -> Payload:
    buttons = buttons_of(data.get("buttons"))
    where = Where(_int(data.get("thread_id")), _int(data.get("topic_of")))
    if kind == "message":
        return Message(
            text=str(data["text"]),
            buttons=buttons,
            per_row=int(data.get("per_row", 1)),
            typing=bool(data.get("typing", False)),
            where=where,
            reply_to=_int(data.get("reply_to")),
            card=bool(data.get("card", False)),
            forget=bool(data.get("forget", False)),
        )
    if kind == "copy":
        return Copy(int(data["from_chat_id"]), int(data["message_id"]), buttons, where)
    if kind == "photo":
        return Photo(
            caption=str(data.get("caption") or ""),
            chart=chart_from_json(data.get("chart") or ()),
            png_base64=data.get("photo"),
            filename=str(data.get("filename", "chart.png")),
            buttons=buttons,
            where=where,
        )
    if kind == "document":
        return Document(str(data["filename"]), str(data["document"]), str(data.get("caption") or ""), buttons, where)
    if kind == "edit":
        return Edit(
            text=str(data["text"]),
            buttons=buttons,
            per_row=int(data.get("per_row", 1)),
            caption=bool(data.get("caption", False)),
            message_id=_int(data.get("message_id")),
            message_ref=_int(data.get("message_ref")),
        )
    if kind == "markup":
        return EditButtons(buttons, _int(data.get("message_id")), _int(data.get("message_ref")))
    if kind == "topic":
        return CreateTopic(str(data["name"]))
    if kind == "topic_edit":
        return RenameTopic(str(data["name"]), where)
    if kind == "topic_delete":
        return DeleteTopic(int(data["thread_id"]))
    raise ValueError(kind)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def chart_json(lines: Sequence[ChartSeries]) -> list[dict[str, Any]]:
    return [{"label": s.label, "points": [list(p) for p in s.points], "low": s.low, "high": s.high} for s in lines]


def chart_from_json(data: Sequence[dict[str, Any]]) -> tuple[ChartSeries, ...]:
    return tuple(
        ChartSeries(
            str(s["label"]), tuple((str(d), float(v)) for d, v in s["points"]), float(s["low"]), float(s["high"])
        )
        for s in data
    )
