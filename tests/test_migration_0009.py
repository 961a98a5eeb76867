"""Migration 0009 (contact notes, weekly summaries) goes up and back down cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from storage.database import alembic_config, upgrade


def test_0009_upgrades_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        assert {"topics", "risk_checked"} <= {c["name"] for c in inspect(engine).get_columns("staff_contact")}
        assert "weekly_summary" in inspect(engine).get_table_names()
        command.downgrade(alembic_config(url), "0009-1")  # whatever the lead chains it after
        inspector = inspect(engine)
        assert "weekly_summary" not in inspector.get_table_names()
        assert "topics" not in {c["name"] for c in inspector.get_columns("staff_contact")}
        upgrade(url)
        assert "weekly_summary" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
