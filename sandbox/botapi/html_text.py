"""Telegram's HTML parse mode: HTML text into plain text and entities (modelled on Telegram's own parser)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.botapi.params import Params

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
