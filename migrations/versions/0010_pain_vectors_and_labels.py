"""Keep pain points' meaning vectors and the team's labels on pairs of pain points.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import storage.base
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pain_vector',
        sa.Column('pain_id', sa.Integer(), nullable=False),
        sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['pain_id'], ['pain_point.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('pain_id'),
    )
    op.create_table(
        'pain_label',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('pain_id', sa.Integer(), nullable=False),
        sa.Column('other_id', sa.Integer(), nullable=False),
        sa.Column('same', sa.Boolean(), nullable=False),
        sa.Column('by_user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pain_id'], ['pain_point.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['other_id'], ['pain_point.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pain_label_workspace', 'pain_label', ['enterprise_id', 'team_id'])
    op.create_index(op.f('ix_pain_label_pain_id'), 'pain_label', ['pain_id'])
    op.create_index(op.f('ix_pain_label_other_id'), 'pain_label', ['other_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_pain_label_other_id'), table_name='pain_label')
    op.drop_index(op.f('ix_pain_label_pain_id'), table_name='pain_label')
    op.drop_index('ix_pain_label_workspace', table_name='pain_label')
    op.drop_table('pain_label')
    op.drop_table('pain_vector')
