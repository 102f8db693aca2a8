"""Count the changes to each milestone board, so every process knows when its copy is stale.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('milestone_board', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('milestone_board', schema=None) as batch_op:
        batch_op.drop_column('version')
