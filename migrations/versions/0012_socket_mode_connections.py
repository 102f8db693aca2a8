"""Keep what each focusbot in Socket Mode last said about its connection, for focusbot doctor.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "socket_mode_connection",
        sa.Column("process", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("connected_since", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_reconnect_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("seen_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process"),
    )
    with op.batch_alter_table("socket_mode_connection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_socket_mode_connection_seen_at"), ["seen_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("socket_mode_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_socket_mode_connection_seen_at"))
    op.drop_table("socket_mode_connection")
