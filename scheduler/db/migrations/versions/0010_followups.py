"""followups: a post may be a follow-up (first comment, thread reply) of another post

Revision ID: 0010_followups
Revises: 0007_people_names
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_followups"
down_revision: str | None = "0007_people_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key("fk_post_parent_id_post", "post", ["parent_id"], ["id"])
        batch.create_index("ix_post_parent_id", ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.drop_index("ix_post_parent_id")
        batch.drop_constraint("fk_post_parent_id_post", type_="foreignkey")
        batch.drop_column("parent_id")
