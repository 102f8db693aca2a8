"""Create maker time: team schedules, members, linked calendars and their meetings.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-21 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.base

revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('maker_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('windows', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('day_start', sa.Integer(), nullable=False),
    sa.Column('day_end', sa.Integer(), nullable=False),
    sa.Column('meeting_free_days', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('long_minutes', sa.Integer(), nullable=False),
    sa.Column('big_attendees', sa.Integer(), nullable=False),
    sa.Column('defer_posts', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('updated_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'team_id', 'channel_id')
    )
    op.create_table('maker_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seen_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'team_id', 'channel_id', 'user_id')
    )
    with op.batch_alter_table('maker_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maker_member_user_id'), ['user_id'], unique=False)

    op.create_table('maker_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('linked_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_read_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expanded_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failing_since', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'team_id', 'user_id')
    )
    op.create_table('maker_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('start', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('organizer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['maker_calendar.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('calendar_id', 'occurrence_key')
    )
    with op.batch_alter_table('maker_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maker_meeting_calendar_id'), ['calendar_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maker_meeting_start'), ['start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('maker_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maker_meeting_start'))
        batch_op.drop_index(batch_op.f('ix_maker_meeting_calendar_id'))

    op.drop_table('maker_meeting')
    op.drop_table('maker_calendar')
    with op.batch_alter_table('maker_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maker_member_user_id'))

    op.drop_table('maker_member')
    op.drop_table('maker_schedule')
