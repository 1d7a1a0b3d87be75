"""job arrays: completions, parallelism, a shared retry budget, tasks linked to their parent

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("completions", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("parallelism", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("backoff_limit", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("retries_used", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("parent_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("task_index", sa.Integer, nullable=True))
    op.create_index("ix_jobs_parent", "jobs", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_parent", "jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "task_index",
            "parent_id",
            "retries_used",
            "backoff_limit",
            "parallelism",
            "completions",
        ):
            batch.drop_column(column)
