"""Count each workspace's pain point regroupings, so every process knows to reload its demand.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pain_settings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('regrouped', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('pain_settings', schema=None) as batch_op:
        batch_op.drop_column('regrouped')
