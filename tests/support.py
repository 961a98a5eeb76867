"""Test helpers that build the real coach on a real (temporary) database."""

from __future__ import annotations

from pathlib import Path

from clock import Clock, ManualClock
from coach.services import Place, Services, build
from content.schema import Content
from storage.database import Database

STAFF_CHAT = -100500


def make_database(tmp_path: Path, name: str = "coach.db") -> Database:
    return migrated(f"sqlite:///{tmp_path / name}")


def migrated(url: str) -> Database:
    database = Database(url)
    database.upgrade()
    return database


def make_services(
    database: Database, content: Content, clock: Clock | None = None, staff_chat_id: int = STAFF_CHAT
) -> Services:
    """The coach's services as a clinic in London with a staff chat runs them."""
    place = Place(default_locale="en", default_timezone="Europe/London", staff_chat_id=staff_chat_id)
    return build(database, content, clock or ManualClock(), place)
