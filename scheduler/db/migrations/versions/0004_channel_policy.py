"""channel policy: pacing state on the channel, why a post waits

Post statuses are plain strings with no check constraint, so ``expired`` needs no change here.

Revision ID: 0004_channel_policy
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import scheduler.models

revision: str = "0004_channel_policy"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_free_at", scheduler.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cap_day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("cap_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("wait_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(
            sa.Column("wait_until", scheduler.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_post_channel_published", ["channel_id", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_channel_published")
        batch_op.drop_column("wait_until")
        batch_op.drop_column("wait_reason")
        batch_op.drop_column("wait_code")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("cap_count")
        batch_op.drop_column("cap_day")
        batch_op.drop_column("next_free_at")
