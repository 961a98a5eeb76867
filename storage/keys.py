"""Key rotation: every sealed column re-sealed with the newest data key (`paincoach keys rotate`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Column, Table, Text, cast, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.database import Database
from storage.sealed import SealedJSON, SealedText

BATCH = 500


def sealed_columns() -> Iterator[tuple[Table, Column[Any]]]:
    """Each table's sealed columns, found from the models (a new sealed column is rotated too)."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SealedText | SealedJSON):
                yield table, column


def rotate(database: Database) -> dict[str, int]:
    """Seal every sealed value again with the newest key of the database's keyring, a batch per
    transaction; returns how many values each `table.column` had. Safe to run again, and while the
    coach runs (a row written meanwhile is sealed with the newest key already)."""
    counts: dict[str, int] = {}
    keyring = database.keyring
    for table, column in sealed_columns():
        [key] = table.primary_key.columns
        assert isinstance(column.type, SealedText | SealedJSON)
        # The same table seen without the sealing: the tokens as stored, written back as they are.
        raw = sql_table(table.name, sql_column(key.name, key.type), sql_column(column.name, column.type.impl_instance))
        raw_key, raw_token = raw.c[key.name], raw.c[column.name]
        as_stored = cast(raw_token, Text)  # compared as text: PostgreSQL's json has no equality
        in_json = isinstance(column.type, SealedJSON)  # the token is a JSON string there
        count = 0
        last: Any = None
        while True:
            query = select(raw_key, as_stored).order_by(raw_key).limit(BATCH)
            if last is not None:
                query = query.where(raw_key > last)
            with database.transaction() as session:
                rows = session.execute(query).all()
                for row_key, stored in rows:
                    if stored is None or (in_json and stored == "null"):
                        continue
                    token = json.loads(stored) if in_json else stored
                    # Only if unchanged since read: a row the coach wrote meanwhile has the newest key already.
                    unchanged = (raw_key == row_key) & (as_stored == stored)
                    session.execute(update(raw).where(unchanged).values({column.name: keyring.rotate(token)}))
                    count += 1
            if not rows:
                break
            last = rows[-1][0]
        counts[f"{table.name}.{column.name}"] = count
    return counts
