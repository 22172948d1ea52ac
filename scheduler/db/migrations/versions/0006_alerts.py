"""alerts: one state row per (condition, subject) for grouping, reminders and resolution

Revision ID: 0006_alerts
Revises: 0005_oauth_connect
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import scheduler.models

revision: str = "0006_alerts"
down_revision: str | None = "0005_oauth_connect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = scheduler.models.UTCDateTime(timezone=True)
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "alert_state",
        sa.Column("key", text(length=200), nullable=False),
        sa.Column("condition", text(length=40), nullable=False),
        sa.Column("subject", text(length=200), nullable=False),
        sa.Column("text", text(length=2000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", ts, nullable=False),
        sa.Column("last_seen", ts, nullable=False),
        sa.Column("last_sent", ts, nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("resolved_at", ts, nullable=True),
        sa.Column("resolved_sent_at", ts, nullable=True),
        sa.Column("sent_to", text(length=200), nullable=False),
        sa.Column("last_error", text(length=500), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.create_index("ix_alert_state_condition", ["condition"], unique=False)
        batch_op.create_index("ix_alert_state_resolved_at", ["resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_state_resolved_at")
        batch_op.drop_index("ix_alert_state_condition")
    op.drop_table("alert_state")
