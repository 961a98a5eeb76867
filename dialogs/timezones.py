"""Reading a time zone a patient typed: a city ("London", "new york"), a zone name, or a UTC offset ("UTC+2")."""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-−])\s*(\d{1,2})(?::?00)?$")


@lru_cache(maxsize=1)
def _by_city() -> dict[str, str]:
    cities: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "US/")) or "/" not in name:
            continue
        city = name.rsplit("/", 1)[1].replace("_", " ").lower()
        cities.setdefault(city, name)
    return cities


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_timezone(typed: str) -> str | None:
    """The IANA zone the patient meant, or None. Offsets become fixed zones (no daylight saving)."""
    text = " ".join(typed.strip().split()).lower()
    if not text or len(text) > 64:
        return None
    if text in ("utc", "gmt", "utc+0", "gmt+0", "utc0"):
        return "UTC"
    offset = _OFFSET.match(text)
    if offset:
        sign, hours = offset.group(1), int(offset.group(2))
        if hours > 14:
            return None
        if hours == 0:
            return "UTC"
        # The Etc zones count the other way round: UTC+2 is Etc/GMT-2.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    city = _by_city().get(text)
    if city:
        return city
    for name in available_timezones():
        if name.lower() == text.replace(" ", "_"):
            return name
    return None


def describe(zone: str) -> str:
    """A zone as a patient would read it: "Europe/London", or "UTC+2" for a fixed offset."""
    if zone.startswith("Etc/GMT") and len(zone) > 7:
        sign = "+" if zone[7] == "-" else "-"
        return f"UTC{sign}{zone[8:]}"
    return zone
