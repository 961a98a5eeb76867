"""seal free text at rest: what patients and guides wrote, re-written as Fernet tokens

No column changes type: sealed texts stay TEXT and sealed JSON stays JSON (holding a JSON string,
the token); only the rows are re-written, with the newest key of DATA_KEY (storage/sealed.py).
The downgrade opens them again.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-02 03:10:00
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from storage.sealed import DataKeyError, Keyring, from_environment


revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None

# The columns sealed at this revision: (table, its primary key, column, "text" or "json").
SEALED = [
    ("dialog_state", "patient_id", "data", "json"),
    ("answer", "id", "value", "text"),
    ("inbound_update", "update_id", "payload", "json"),
    ("outbox", "id", "payload", "json"),
    ("alert", "id", "excerpt", "text"),
    ("tool_entry", "id", "data", "json"),
    ("questionnaire_result", "id", "answers", "json"),
    ("clinical_note", "id", "text", "text"),
    ("broadcast", "id", "text", "text"),
]
BATCH = 500


def _keyring() -> Keyring:
    keyring = context.config.attributes.get("keyring")
    if keyring is None:
        keyring = from_environment(op.get_bind().engine.url.render_as_string(hide_password=False))
    assert isinstance(keyring, Keyring)
    return keyring


def _rewrite(change: Callable[[str, Any], Any]) -> None:
    """Every row of every sealed column, in batches, through `change(kind, value)` (None: leave it)."""
    bind = op.get_bind()
    for name, key, column, kind in SEALED:
        value_type: sa.types.TypeEngine[Any] = sa.JSON() if kind == "json" else sa.Text()
        table = sa.table(name, sa.column(key, sa.BigInteger()), sa.column(column, value_type))
        last: int | None = None
        while True:
            query = sa.select(table.c[key], table.c[column]).order_by(table.c[key]).limit(BATCH)
            if last is not None:
                query = query.where(table.c[key] > last)
            rows = bind.execute(query).all()
            if not rows:
                break
            for row_key, value in rows:
                changed = None if value is None else change(kind, value)
                if changed is not None:
                    bind.execute(table.update().where(table.c[key] == row_key).values({column: changed}))
            last = rows[-1][0]


def upgrade() -> None:
    keyring = _keyring()

    def seal(kind: str, value: Any) -> Any:
        if kind == "json":
            if isinstance(value, str):  # sealed already
                return None
            return keyring.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        try:
            keyring.open(value)
            return None  # sealed already
        except DataKeyError:
            return keyring.seal(value)

    _rewrite(seal)


def downgrade() -> None:
    keyring = _keyring()

    def unseal(kind: str, value: Any) -> Any:
        if kind == "json":
            return json.loads(keyring.open(value)) if isinstance(value, str) else None
        return keyring.open(value)

    _rewrite(unseal)
