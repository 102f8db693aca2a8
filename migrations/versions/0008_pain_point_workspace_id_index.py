"""Index pain points by workspace and id: the similarity index syncs the newest ones per request.

Without it SQLite answers `workspace = ? AND id > ?` by scanning the workspace's whole
(workspace, created_at) index: 7 ms per `/pain` at 100,000 pain points (see BENCHMARKS.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_pain_point_workspace_id', 'pain_point', ['enterprise_id', 'team_id', 'id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_pain_point_workspace_id', table_name='pain_point')
