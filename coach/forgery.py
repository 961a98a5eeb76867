"""What a patient or a stranger can forge, recognised so that it is refused and audited.

A Telegram client can send any button data (64 bytes) with a tap on any message in its own chat,
and type any command. From a private chat these are forgeries, never mistakes: a staff button's
data (Acknowledge, Reviewed, Mark answered, a broadcast's Send), a button of a prompt the patient
was never shown (another patient's prompt numbers run ahead of theirs), and the staff commands.
The engine already answers each kindly and changes nothing (a stale button, an unknown command);
this module names them, so `Coach.handle` writes them to the audit log. An ordinary stale tap (an
older prompt's button) is not a forgery and is not audited.

In the staff chat, what someone not on the staff list does is refused by role
(`dialogs/desk/roles.py`) where it is handled, and audited as `staff_refused` there.
"""

from __future__ import annotations

from coach.alerts import ACK, OUTCOME, PROTOCOL, REVIEWED
from coach.desk import DONE
from content.buttons import decode
from dialogs.desk.roles import MAY
from dialogs.events import Command, Event, Press

BROADCAST = "bc:"  # button data of a broadcast preview's Send and Cancel: bc:<send|cancel>:<id>
STAFF_BUTTONS = (ACK, OUTCOME, PROTOCOL, REVIEWED, DONE, BROADCAST)  # data only the staff chat's buttons carry
STAFF_COMMANDS = frozenset(name for name in MAY if name != "reply")  # /broadcast, /staff, /patient ...

TAP_REFUSED = "tap_refused"  # audit action: a forged tap from a private chat
STAFF_REFUSED = "staff_refused"  # audit action: a staff action by someone not allowed it


def is_staff_button(data: str) -> bool:
    return data.startswith(STAFF_BUTTONS)


def forged_tap(data: str, prompt: int) -> str | None:
    """Why a tap in a private chat is forged (None: it is not), for a patient at prompt `prompt`."""
    if is_staff_button(data):
        return "staff_button"
    press = decode(data)
    if press is not None and press.prompt > prompt:
        return "prompt_never_shown"
    return None


def staff_command(event: Event) -> str | None:
    """The staff command a patient typed in their private chat, if it is one."""
    if isinstance(event, Command) and event.name in STAFF_COMMANDS:
        return event.name
    return None


def forged(event: Event, prompt: int) -> tuple[str, dict[str, str]] | None:
    """The audit action and detail for a forged event from a private chat, or None. The detail
    never holds what was sent (button data and command arguments can carry anything)."""
    if isinstance(event, Press) and (why := forged_tap(event.data, prompt)) is not None:
        return TAP_REFUSED, {"why": why, "where": "private chat"}
    if (name := staff_command(event)) is not None:
        return STAFF_REFUSED, {"command": name, "where": "private chat"}
    return None
