"""outcomes: the anonymous counts an erased patient leaves behind

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


def downgrade() -> None:
    op.drop_table('erasure_tally')
