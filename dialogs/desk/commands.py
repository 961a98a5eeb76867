"""Reading what a guide typed after a staff command: which patient, and what to do (pure).

A request names the patient by code (`P-0042`) or, when left out, the topic it was typed in
(`code` None). `Usage` means the command was not written the way it is used."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.desk.roles import ADMIN, ROLES

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
class NotAllowed:
    """A request that is understood but must not be done: `why` names the text that says so."""

    why: str  # staff_not_yourself | staff_fixed_admin
    user: int


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
    """A contact note: the method (`kind`), its minutes, the topics talked about, and whether
    risk was checked (None: the guide did not say)."""

    code: str | None
    kind: str
    minutes: int
    topics: tuple[str, ...] = ()
    risk_checked: bool | None = None


@dataclass(frozen=True)
class AddNote:
    code: str | None
    text: str


@dataclass(frozen=True)
class AlertNote:
    """The guide's free-text note on a closed alert's outcome (`/outcome <alert id> <text>`)."""

    alert_id: int
    text: str


@dataclass(frozen=True)
class CreateInvite:
    uses: int = 1
    days: int | None = None
    site: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ShowEnrolment:
    pass


MAX_USES, MAX_DAYS = 1000, 365
SITE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def read_invite(args: str) -> CreateInvite | Usage:
    """`uses N`, `days D`, `site NAME` in any order, then `note TEXT` (the rest of the line)."""
    words = args.split()
    found: dict[str, str] = {}
    while words:
        key = words.pop(0).lower()
        if key == "note":
            found["note"] = " ".join(words)[:200]
            break
        if key not in ("uses", "days", "site") or not words or key in found:
            return Usage("invite")
        found[key] = words.pop(0)
    uses, days, site = found.get("uses", "1"), found.get("days"), found.get("site")
    if not uses.isdigit() or not 1 <= int(uses) <= MAX_USES:
        return Usage("invite")
    if days is not None and (not days.isdigit() or not 1 <= int(days) <= MAX_DAYS):
        return Usage("invite")
    if site is not None and not SITE.match(site.lower()):
        return Usage("invite")
    return CreateInvite(int(uses), int(days) if days else None, site.lower() if site else None,
                        found.get("note") or None)  # fmt: skip


Request = (
    Usage
    | CreateInvite
    | ShowEnrolment
    | NotAllowed
    | ShowStaff
    | SetRole
    | RemoveStaff
    | ShowQueue
    | ShowReport
    | ShowPatient
    | MarkDone
    | LogContact
    | AddNote
    | AlertNote
)


def named_code(args: str) -> str | None:
    """The patient code the arguments start with, upper case (None: none given)."""
    words = args.split()
    return words[0].upper() if words and CODE.match(words[0]) else None


def read(name: str, args: str, user_id: int, fixed_admins: frozenset[int] = frozenset()) -> Request:
    """The request behind `/<name> <args>`, typed by staff member `user_id`. `fixed_admins` are
    the admins of ADMIN_IDS: made admins again at every start, so nobody changes them here."""
    words = args.split()
    code = named_code(args)
    rest = words[1:] if code else words
    if name == "staff":
        if not words:
            return ShowStaff()
        user = int(words[1]) if len(words) >= 2 and words[1].isdigit() else 0
        if words[0] == "add" and len(words) == 3 and user > 0 and words[2] in ROLES:
            if user == user_id:
                return NotAllowed("staff_not_yourself", user)  # nobody demotes themselves into a lock-out
            if user in fixed_admins and words[2] != ADMIN:
                return NotAllowed("staff_fixed_admin", user)
            return SetRole(user, words[2])
        if words[0] == "remove" and len(words) == 2 and user > 0:
            if user == user_id:
                return NotAllowed("staff_not_yourself", user)
            if user in fixed_admins:
                return NotAllowed("staff_fixed_admin", user)
            return RemoveStaff(user)
        return Usage(name)
    if name == "queue":
        return ShowQueue()
    if name == "invite":
        return read_invite(args)
    if name == "enrolment":
        return ShowEnrolment()
    if name == "report":
        return ShowReport()
    if name == "patient":
        return ShowPatient(code)
    if name == "done":
        return MarkDone(code)
    if name == "checkin":
        return _contact_note(code, rest)
    if name == "note":
        text = args.strip()
        if code:
            text = text[len(words[0]) :].strip()
        return AddNote(code, text[:MAX_NOTE]) if rest and text else Usage(name)
    if name == "outcome":
        ident, _, text = args.strip().partition(" ")
        ident = ident.removeprefix("#")
        if ident.isdigit() and int(ident) > 0 and text.strip():
            return AlertNote(int(ident), text.strip()[:MAX_NOTE])
        return Usage(name)
    return Usage(name)


RISK = re.compile(r"^risk[:=](yes|no|y|n)$", re.IGNORECASE)
MAX_TOPICS = 10
MAX_TOPIC = 60


def _contact_note(code: str | None, words: list[str]) -> LogContact | Usage:
    """`<method> <minutes> [risk:yes|risk:no] [topics, comma separated]`."""
    if len(words) < 2 or words[0].lower() not in CONTACT_KINDS or not words[1].isdigit():
        return Usage("checkin")
    minutes = int(words[1])
    if not 1 <= minutes <= MAX_MINUTES:
        return Usage("checkin")
    risk: bool | None = None
    rest = []
    for word in words[2:]:
        matched = RISK.match(word)
        if matched and risk is None:
            risk = matched.group(1).lower().startswith("y")
        else:
            rest.append(word)
    topics = tuple(t.strip()[:MAX_TOPIC] for t in " ".join(rest).split(",") if t.strip())[:MAX_TOPICS]
    return LogContact(code, words[0].lower(), minutes, topics, risk)
