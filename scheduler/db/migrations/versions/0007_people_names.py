"""people's names: app_user.display_name; an index on post (status, scheduled_at) for the
queue's "Waiting for you" (a few posts per status in schedule order, and their count)

Revision ID: 0007_people_names
Revises: 0006_alerts
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_people_names"
down_revision: str | None = "0006_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "display_name",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
    # Existing people keep their login name as the name shown until one is given.
    op.execute("UPDATE app_user SET display_name = username WHERE display_name = ''")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index("ix_post_status_scheduled", ["status", "scheduled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_status_scheduled")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("display_name")
