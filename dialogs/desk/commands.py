"""Reading what a guide typed after a staff command: which patient, and what to do (pure).

A request names the patient by code (`P-0042`) or, when left out, the topic it was typed in
(`code` None). `Usage` means the command was not written the way it is used."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.desk.roles import ROLES

CODE = re.compile(r"^P-\d{1,9}$", re.IGNORECASE)
CONTACT_KINDS = ("phone", "message", "video", "in_person")
MAX_NOTE = 4000
MAX_MINUTES = 600


@dataclass(frozen=True)
class Usage:
    command: str


@dataclass(frozen=True)
class ShowStaff:
    pass


@dataclass(frozen=True)
class SetRole:
    user: int
    role: str


@dataclass(frozen=True)
class RemoveStaff:
    user: int


@dataclass(frozen=True)
class ShowQueue:
    pass


@dataclass(frozen=True)
class ShowReport:
    pass


@dataclass(frozen=True)
class ShowPatient:
    code: str | None


@dataclass(frozen=True)
class MarkDone:
    code: str | None


@dataclass(frozen=True)
class LogContact:
    code: str | None
    kind: str
    minutes: int


@dataclass(frozen=True)
class AddNote:
    code: str | None
    text: str


Request = (
    Usage | ShowStaff | SetRole | RemoveStaff | ShowQueue | ShowReport | ShowPatient | MarkDone | LogContact | AddNote
)


def named_code(args: str) -> str | None:
    """The patient code the arguments start with, upper case (None: none given)."""
    words = args.split()
    return words[0].upper() if words and CODE.match(words[0]) else None


def read(name: str, args: str, user_id: int) -> Request:
    """The request behind `/<name> <args>`, typed by staff member `user_id`."""
    words = args.split()
    code = named_code(args)
    rest = words[1:] if code else words
    if name == "staff":
        if not words:
            return ShowStaff()
        if words[0] == "add" and len(words) == 3 and words[1].isdigit() and words[2] in ROLES:
            return SetRole(int(words[1]), words[2])
        if words[0] == "remove" and len(words) == 2 and words[1].isdigit() and int(words[1]) != user_id:
            return RemoveStaff(int(words[1]))  # an admin cannot take themselves off (and lock everyone out)
        return Usage(name)
    if name == "queue":
        return ShowQueue()
    if name == "report":
        return ShowReport()
    if name == "patient":
        return ShowPatient(code)
    if name == "done":
        return MarkDone(code)
    if name == "checkin":
        if len(rest) != 2 or rest[0] not in CONTACT_KINDS or not rest[1].isdigit():
            return Usage(name)
        minutes = int(rest[1])
        return LogContact(code, rest[0], minutes) if 1 <= minutes <= MAX_MINUTES else Usage(name)
    if name == "note":
        text = args.strip()
        if code:
            text = text[len(words[0]) :].strip()
        return AddNote(code, text[:MAX_NOTE]) if rest and text else Usage(name)
    return Usage(name)
