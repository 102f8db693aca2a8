"""Let people follow other teams' focus lists, and channels get every team's focus weekly.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.base

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('focus_follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('followed_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['focus_list.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('list_id', 'user_id')
    )
    with op.batch_alter_table('focus_follow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_focus_follow_list_id'), ['list_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_focus_follow_user_id'), ['user_id'], unique=False)

    op.create_table('focus_across_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('minute', sa.Integer(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'team_id', 'channel_id')
    )


def downgrade() -> None:
    op.drop_table('focus_across_post')
    with op.batch_alter_table('focus_follow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_focus_follow_user_id'))
        batch_op.drop_index(batch_op.f('ix_focus_follow_list_id'))
    op.drop_table('focus_follow')
