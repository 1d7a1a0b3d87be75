"""events: one history table for every kind's status changes (was job_events, jobs only)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(36), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_events_object", "events", ["object_id", "id"])
    op.execute(
        "INSERT INTO events (kind, object_id, at, status, reason) "
        "SELECT 'job', job_id, at, status, reason FROM job_events ORDER BY id"
    )
    op.drop_index("ix_job_events_job", table_name="job_events")
    op.drop_table("job_events")


def downgrade() -> None:
    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_job_events_job", "job_events", ["job_id"])
    op.execute(
        "INSERT INTO job_events (job_id, at, status, reason) "
        "SELECT object_id, at, status, reason FROM events "
        "WHERE kind = 'job' AND object_id IN (SELECT id FROM jobs) ORDER BY id"
    )
    op.drop_index("ix_events_object", table_name="events")
    op.drop_table("events")
