"""Find a list's open items and a calendar's meetings in a window without reading their history.

A team list keeps a thousand closed items beside its three open ones, and a calendar months of
meetings; indexing each by its parent and then by state (or start) reads only the rows asked for.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_focus_item_list_id_state", "focus_item", ["list_id", "state"])
    op.drop_index(op.f("ix_focus_item_list_id"), table_name="focus_item")
    op.create_index("ix_maker_meeting_calendar_id_start", "maker_meeting", ["calendar_id", "start"])
    op.drop_index(op.f("ix_maker_meeting_calendar_id"), table_name="maker_meeting")


def downgrade() -> None:
    op.create_index(op.f("ix_maker_meeting_calendar_id"), "maker_meeting", ["calendar_id"])
    op.drop_index("ix_maker_meeting_calendar_id_start", table_name="maker_meeting")
    op.create_index(op.f("ix_focus_item_list_id"), "focus_item", ["list_id"])
    op.drop_index("ix_focus_item_list_id_state", table_name="focus_item")
