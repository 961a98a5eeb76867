"""safety: alert outcomes, the safety question, the patient's emergency contact

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-02 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_alert_closed_at", ["closed_at"])
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("emergency_contact", sa.Text(), nullable=True))
    op.create_table(
        "risk_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("asked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_question_patient_id", "risk_question", ["patient_id"])
    op.create_index("ix_risk_question_answered_at", "risk_question", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_risk_question_answered_at", table_name="risk_question")
    op.drop_index("ix_risk_question_patient_id", table_name="risk_question")
    op.drop_table("risk_question")
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("emergency_contact")
    with op.batch_alter_table("alert") as batch:
        batch.drop_index("ix_alert_closed_at")
        batch.drop_column("closed_at")
        batch.drop_column("closed_by")
        batch.drop_column("outcome_note")
        batch.drop_column("outcome")
