"""Zun containers and their action log

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "containers",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task_state", sa.String(32), nullable=True),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("status_detail", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("container_id", sa.String(64), nullable=True),
        sa.Column("start_on_create", sa.Boolean, nullable=False),
        sa.Column("capsule", sa.JSON, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("trace_context", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
    )
    op.create_index("ix_containers_project_name", "containers", ["project_id", "name"])
    op.create_index("ix_containers_host", "containers", ["host"])
    op.create_table(
        "container_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("container_uuid", sa.String(36), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("finish_time", sa.Float, nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_container_actions_uuid", "container_actions", ["container_uuid"])


def downgrade() -> None:
    op.drop_table("container_actions")
    op.drop_table("containers")
