"""outcomes: the anonymous counts an erased patient leaves behind; an allocation outlives its patient

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0008'  # after the enrolment merge (was '0006'; the lead rechains)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasure_tally',
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('stage')
    )
    # An erased patient's allocation stays, without them: the sequence of a stratum must not move.
    with op.batch_alter_table('allocation') as batch:
        batch.alter_column('patient_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM allocation WHERE patient_id IS NULL")
    with op.batch_alter_table('allocation') as batch:
        batch.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('erasure_tally')
