"""oauth connect: the oauth_connection table; how each channel was connected

Revision ID: 0005_oauth_connect
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import scheduler.models

revision: str = "0005_oauth_connect"
# The head on main when this was written (its file is 0003_web_sessions_login_throttle.py).
down_revision: str | None = "0004_channel_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_connection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=True),
        sa.Column("secrets_encrypted", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", scheduler.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", scheduler.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", scheduler.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", scheduler.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
    )
    with op.batch_alter_table("oauth_connection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_connection_expires_at"), ["expires_at"], unique=False
        )
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "connected_via", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "connected_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("connected_at", scheduler.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("connected_at")
        batch_op.drop_column("connected_by")
        batch_op.drop_column("connected_via")
    with op.batch_alter_table("oauth_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_connection_expires_at"))
    op.drop_table("oauth_connection")
