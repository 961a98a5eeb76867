"""Whether a text is HTML that Telegram accepts: only its tags, each closed in order, and no bare
`<` (written `&lt;`). A lone `&` Telegram reads as itself. Used by `content check` and by
broadcasts' previews."""

from __future__ import annotations

import re
from html.parser import HTMLParser

TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler",
     "blockquote", "tg-emoji"}
)  # fmt: skip
_BARE_ANGLE = re.compile(r"<(?![/a-zA-Z])")


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS and self.problem is None:
            self.problem = f"<{tag}> is not HTML that Telegram accepts"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if (not self.open or self.open[-1] != tag) and self.problem is None:
            self.problem = f"</{tag}> does not close the tag that is open"
        elif self.open:
            self.open.pop()


def problem(markup: str) -> str | None:
    """What Telegram would refuse in `markup`, in words; None when it is fine."""
    checker = _TagChecker()
    checker.feed(markup)
    checker.close()
    if checker.problem:
        return checker.problem
    if checker.open:
        return f"<{checker.open[-1]}> is never closed"
    if _BARE_ANGLE.search(markup):
        return "a bare < in the text: write &lt;"
    return None
