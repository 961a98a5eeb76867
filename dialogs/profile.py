"""The patient's time zone, as onboarding's time-zone step and the /reminders page both offer it:
the zones of their country as buttons, the one they have now, and setting it."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from dialogs.timezones import describe
from dialogs.turn import Choices, Turn

# Button choices (in a prompt's data): a zone of the country by its place in the list, or "keep".
ZONE, ZONE_KEEP, ZONE_TYPED = "tz-", "tz-keep", "typed"


def zone_choices(turn: Turn) -> Choices:
    """The time zones of the patient's country, and the one they have now if it is not among them."""
    zones = turn.content.crisis.for_country(turn.state.country).timezones
    choices = [(z.label, f"{ZONE}{i}") for i, z in enumerate(zones)]
    if all(z.zone != turn.state.timezone for z in zones):
        choices.insert(0, (turn.ui("timezone_keep", zone=describe(turn.state.timezone)), ZONE_KEEP))
    return choices


def zone_of(turn: Turn, choice: str) -> str | None:
    if choice == ZONE_KEEP:
        return turn.state.timezone
    zones = turn.content.crisis.for_country(turn.state.country).timezones
    index = choice.removeprefix(ZONE)
    return zones[int(index)].zone if index.isdigit() and int(index) < len(zones) else None


def set_zone(turn: Turn, zone: str) -> None:
    turn.state = replace(turn.state, timezone=zone)
    local = turn.now.astimezone(ZoneInfo(zone))
    turn.say("timezone_set", zone=describe(zone), time=f"{local:%H:%M}")
