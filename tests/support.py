"""Test helpers that build the real coach on a real (temporary) database."""

from __future__ import annotations

from pathlib import Path

from clock import ManualClock
from content.schema import Content
from paincoach.coach import Coach
from storage.database import Database


def make_database(tmp_path: Path, name: str = "coach.db") -> Database:
    return migrated(f"sqlite:///{tmp_path / name}")


def migrated(url: str) -> Database:
    database = Database(url)
    database.upgrade()
    return database


def make_coach(database: Database, content: Content, clock: ManualClock | None = None) -> Coach:
    return Coach(
        database,
        content,
        clock or ManualClock(),
        default_locale="en",
        default_timezone="Europe/London",
        staff_chat_id=-100500,
    )
