"""A Telegram message's text and entities as Telegram HTML, so a guide's formatting reaches the patient.

Entity offsets and lengths count UTF-16 code units, as the Bot API defines them. Entities nest;
one that overlaps its parent's end is cut at that end. Kinds that carry no formatting (mentions,
hashtags, commands, plain URLs ...) stay as text. Everything else is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SIMPLE_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


@dataclass(frozen=True)
class _Entity:
    start: int  # in UTF-16 code units
    end: int
    data: Mapping[str, Any]


def entities_to_html(text: str, entities: Sequence[Mapping[str, Any]] | None) -> str:
    units = text.encode("utf-16-le")
    size = len(units) // 2
    spans = sorted(
        (_Entity(int(e["offset"]), min(int(e["offset"]) + int(e["length"]), size), e) for e in entities or ()),
        key=lambda e: (e.start, -e.end),
    )
    return _render(units, [e for e in spans if 0 <= e.start < e.end], 0, size)


def _render(units: bytes, spans: list[_Entity], start: int, end: int) -> str:
    out: list[str] = []
    position = start
    index = 0
    while index < len(spans):
        entity = spans[index]
        if entity.start < position:  # overlapped an earlier sibling: its text is already out
            index += 1
            continue
        inner_end = min(entity.end, end)
        children = []
        index += 1
        while index < len(spans) and spans[index].start < inner_end:
            child = spans[index]
            children.append(_Entity(child.start, min(child.end, inner_end), child.data))
            index += 1
        out.append(_text(units, position, entity.start))
        out.append(_wrap(entity.data, _render(units, children, entity.start, inner_end)))
        position = inner_end
    out.append(_text(units, position, end))
    return "".join(out)


def _text(units: bytes, start: int, end: int) -> str:
    if end <= start:
        return ""
    return html.escape(units[start * 2 : end * 2].decode("utf-16-le", errors="replace"), quote=False)


def _wrap(entity: Mapping[str, Any], inner: str) -> str:
    kind = entity.get("type")
    if kind in SIMPLE_TAGS:
        tag = SIMPLE_TAGS[str(kind)]
        return f"<{tag}>{inner}</{tag}>"
    if kind == "expandable_blockquote":
        return f"<blockquote expandable>{inner}</blockquote>"
    if kind == "pre":
        language = entity.get("language")
        if language:
            return f'<pre><code class="language-{_attribute(str(language))}">{inner}</code></pre>'
        return f"<pre>{inner}</pre>"
    if kind == "text_link" and entity.get("url"):
        return f'<a href="{_attribute(str(entity["url"]))}">{inner}</a>'
    if kind == "text_mention" and isinstance(entity.get("user"), Mapping) and "id" in entity["user"]:
        return f'<a href="tg://user?id={int(entity["user"]["id"])}">{inner}</a>'
    if kind == "custom_emoji" and entity.get("custom_emoji_id"):
        return f'<tg-emoji emoji-id="{_attribute(str(entity["custom_emoji_id"]))}">{inner}</tg-emoji>'
    return inner  # mentions, hashtags, commands, URLs, e-mail, phone numbers, kinds added later


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)
