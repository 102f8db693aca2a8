"""Remember how many entries of a linked calendar could not be read, to tell the member once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('maker_calendar') as batch:
        batch.add_column(
            sa.Column('unreadable_entries', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('maker_calendar') as batch:
        batch.drop_column('unreadable_entries')
