"""the guide's clinical work: contact notes (topics, risk checked) and weekly summaries

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-02 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topics", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("risk_checked", sa.Boolean(), nullable=True))
    op.create_table(
        "weekly_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("contact_due", sa.Boolean(), nullable=False),
        sa.Column("posted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "week"),
    )
    with op.batch_alter_table("weekly_summary", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weekly_summary_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("weekly_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weekly_summary_patient_id"))
    op.drop_table("weekly_summary")
    with op.batch_alter_table("staff_contact", schema=None) as batch_op:
        batch_op.drop_column("risk_checked")
        batch_op.drop_column("topics")
