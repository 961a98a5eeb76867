"""Who may do what in the staff chat. An admin may do everything."""

from __future__ import annotations

ADMIN, COORDINATOR, GUIDE = "admin", "coordinator", "guide"
ROLES = (ADMIN, COORDINATOR, GUIDE)

# What each role may do: the staff commands, and answering patients ("reply"). Admins may do all.
MAY: dict[str, tuple[str, ...]] = {
    "staff": (ADMIN,),
    "queue": (GUIDE, COORDINATOR),
    "report": (COORDINATOR,),
    "patient": (GUIDE,),
    "checkin": (GUIDE,),  # the guides' word for logging a contact with a patient
    "note": (GUIDE,),
    "done": (GUIDE,),
    "outcome": (GUIDE, COORDINATOR),  # a note on a closed alert's outcome: anyone on the staff list
    "reply": (GUIDE,),
    "broadcast": (COORDINATOR,),
    "invite": (COORDINATOR,),
    "enrolment": (COORDINATOR, GUIDE),
}
# the desk's commands, menu order
COMMANDS = (
    "queue",
    "patient",
    "checkin",
    "note",
    "done",
    "outcome",
    "report",
    "invite",
    "enrolment",
    "staff",
)  # the desk's commands, menu order


def may(role: str | None, action: str) -> bool:
    """Whether someone with `role` (None: not on the staff list) may do `action`."""
    return role == ADMIN or (role is not None and role in MAY[action])


def holds(role: str | None, *roles: str) -> bool:
    """Whether `role` is one of `roles`; an admin holds them all."""
    return role == ADMIN or (role is not None and role in roles)
