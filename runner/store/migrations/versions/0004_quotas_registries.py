"""quotas, quota classes and image registries

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quotas",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("hard_limit", sa.Float, nullable=False),
    )
    op.create_table(
        "quota_classes",
        sa.Column("class_name", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("hard_limit", sa.Float, nullable=False),
    )
    op.create_table(
        "registries",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("username", sa.String(255), nullable=True),
        sa.Column("password", sa.Text, nullable=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("registries")
    op.drop_table("quota_classes")
    op.drop_table("quotas")
