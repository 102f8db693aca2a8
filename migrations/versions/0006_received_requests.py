"""Remember the Slack requests already taken, so retries are not handled twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_request",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("received_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("received_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_request_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("received_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_request_received_at"))
    op.drop_table("received_request")
