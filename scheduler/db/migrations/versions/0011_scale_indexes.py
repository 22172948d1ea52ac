"""scale indexes: partial indexes on the dispatchable and leased states, keyset orders

The dispatcher's claim, the stale-post expiry, the reaper and the lease claims read only posts
in a handful of states, a few thousand rows out of a million: partial indexes hold just those.
Lists by status use 0007's (status, scheduled_at); articles page on (created_at, id) and the
audit trail on (at, id).  ``ix_post_status_next`` (status, next_attempt_at) served none of them.

Revision ID: 0011_scale_indexes
Revises: 0010_followups
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_scale_indexes"
down_revision: str | None = "0010_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISPATCHABLE = "status IN ('scheduled', 'retry_wait')"
LEASED = "status IN ('rendering', 'queued', 'publishing', 'unknown')"


def _partial(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        table,
        columns,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    _partial("ix_post_due", "post", ["scheduled_at"], DISPATCHABLE)
    _partial("ix_post_retry_due", "post", ["next_attempt_at"], "status = 'retry_wait'")
    _partial("ix_post_leased", "post", ["lease_until"], LEASED)
    op.drop_index("ix_post_status_next", table_name="post")
    op.create_index("ix_article_created", "article", ["created_at", "id"])
    op.create_index("ix_audit_event_at", "audit_event", ["at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_index("ix_article_created", table_name="article")
    op.create_index("ix_post_status_next", "post", ["status", "next_attempt_at"])
    op.drop_index("ix_post_leased", table_name="post")
    op.drop_index("ix_post_retry_due", table_name="post")
    op.drop_index("ix_post_due", table_name="post")
