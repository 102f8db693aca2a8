"""Give milestones approaches, a log of what was tried, a required flag and a vision date.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.base

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('milestone_board', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vision_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('forecast_shown', sa.Integer(), nullable=True))
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('required', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('confidence_direct', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table('milestone_approach',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('chance', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestone.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('milestone_id', 'number')
    )
    with op.batch_alter_table('milestone_approach', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_approach_milestone_id'), ['milestone_id'], unique=False)
    op.create_table('milestone_tried',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('approach_number', sa.Integer(), nullable=True),
    sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('actor_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestone.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('milestone_tried', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestone_tried_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestone_tried_milestone_id'), ['milestone_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('milestone_tried', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_tried_milestone_id'))
        batch_op.drop_index(batch_op.f('ix_milestone_tried_at'))
    op.drop_table('milestone_tried')
    with op.batch_alter_table('milestone_approach', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestone_approach_milestone_id'))
    op.drop_table('milestone_approach')
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.drop_column('confidence_direct')
        batch_op.drop_column('required')
    with op.batch_alter_table('milestone_board', schema=None) as batch_op:
        batch_op.drop_column('forecast_shown')
        batch_op.drop_column('vision_date')
