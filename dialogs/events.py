"""What can happen to a patient's conversation: the engine's inputs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    """/start, with the deep-link payload if there was one."""

    payload: str = ""


@dataclass(frozen=True)
class Command:
    name: str  # without the slash, lower case
    args: str = ""
    message_id: int | None = None  # the patient's message, so it can be relayed to their guide


@dataclass(frozen=True)
class Text:
    text: str
    message_id: int | None = None  # the patient's message, so it can be relayed to their guide


@dataclass(frozen=True)
class Press:
    """A tap on an inline button: its data and the message it was on."""

    data: str
    message_id: int | None = None


@dataclass(frozen=True)
class NotText:
    """A sticker, photo, voice note or anything else the coach cannot read."""

    message_id: int | None = None
    caption: str = ""  # what the patient wrote under a photo or file: checked for crisis language too
    kind: str = ""  # voice, sticker, photo, video, video_note, audio, document, animation, other

    @property
    def unscreened(self) -> str:
        """The kind of message when nothing in it could be read for risk (no caption), else ""."""
        return "" if self.caption.strip() else (self.kind or "other")


@dataclass(frozen=True)
class Due:
    """Something the scheduler found due for this patient: `kind` says what
    ("questionnaire", "lesson_released", "nudge", ...), `key` which one."""

    kind: str
    key: str = ""


@dataclass(frozen=True)
class Edited:
    """The patient edited an earlier message: only checked for crisis language (the guides'
    copy of a relayed message is edited by the coach, outside the engine)."""

    text: str


Event = Start | Command | Text | Press | NotText | Due | Edited


def parse_command(text: str) -> Start | Command | None:
    """`/start payload`, `/lesson@paincoach_bot` ...; None when the text is not a command."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name:
        return None
    if name == "start":
        return Start(payload=args.strip())
    return Command(name=name, args=args.strip())
