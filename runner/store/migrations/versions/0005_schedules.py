"""cron schedules and their runs (one row per fire time)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("job", sa.JSON, nullable=False),
        sa.Column("concurrency_policy", sa.String(16), nullable=False),
        sa.Column("starting_deadline_s", sa.Float, nullable=True),
        sa.Column("successful_history_limit", sa.Integer, nullable=False),
        sa.Column("failed_history_limit", sa.Integer, nullable=False),
        sa.Column("suspend", sa.Boolean, nullable=False),
        sa.Column("checked_until", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule_uuid", sa.String(36), nullable=False),
        sa.Column("scheduled_at", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("schedule_uuid", "scheduled_at", name="uq_schedule_runs_time"),
    )
    op.create_index("ix_schedule_runs_schedule", "schedule_runs", ["schedule_uuid"])


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
