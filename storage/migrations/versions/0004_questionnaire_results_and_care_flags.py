"""questionnaire results and stepped-care flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaire_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('occasion', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('subscales', sa.JSON(), nullable=False),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('shown', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('change', sa.Float(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('questionnaire_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_result_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_result_questionnaire'), ['questionnaire'], unique=False)

    op.create_table('care_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('occasion', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('care_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_flag_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_flag_reviewed_at'), ['reviewed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('care_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_flag_reviewed_at'))
        batch_op.drop_index(batch_op.f('ix_care_flag_patient_id'))
    op.drop_table('care_flag')
    with op.batch_alter_table('questionnaire_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_result_questionnaire'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_result_patient_id'))
    op.drop_table('questionnaire_result')
