"""Renders content text: Jinja2 templates that produce Telegram HTML, patient input escaped."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

ENVIRONMENT = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
QUOTED_ANSWER = 300  # longest answer quoted back in a message; longer ones end with "…"
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")  # where Jinja sees a variable, a statement or a comment


@lru_cache(maxsize=4096)
def compiled(text: str) -> Template:
    return ENVIRONMENT.from_string(text)


def is_template(text: str) -> bool:
    """Whether Jinja would see anything but literal text in it (a variable, a statement, a comment)."""
    return _TEMPLATE_SYNTAX.search(text) is not None


def render(text: str, context: dict[str, Any]) -> str:
    """Render a content text; the result is Telegram HTML with every variable escaped."""
    # Most texts have no template syntax: such a text is its own rendering (Jinja leaves literal
    # text as written), and compiling it (the content check does, for a thousand texts at every
    # start-up) would only cost time.
    rendered = compiled(text).render(context) if is_template(text) else text
    return _BLANK_LINES.sub("\n\n", rendered).strip()


def visible_length(markup: str) -> int:
    """How many characters Telegram counts: the text with tags removed and entities decoded."""
    return len(html.unescape(_TAG.sub("", markup)))


def plain(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_for_telegram(markup: str, limit: int = 4096) -> list[str]:
    """Split a message that is too long into parts at line ends; a safety net, content is checked."""
    if visible_length(markup) <= limit:
        return [markup]
    parts: list[str] = []
    current = ""
    for line in markup.splitlines(keepends=True):
        if current and visible_length(current + line) > limit:
            parts.append(current)
            current = ""
        while visible_length(line) > limit:  # one line longer than a whole message
            parts.append(line[:limit])
            line = line[limit:]
        current += line
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def shortened(answer: str, limit: int = QUOTED_ANSWER) -> str:
    return answer if len(answer) <= limit else answer[: limit - 1].rstrip() + "…"
