"""host_admin: forced_down (Zun's service force_down: a host placement counts as down)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("host_admin")}


def upgrade() -> None:
    # 0008 creates host_admin from the current schema: a store made since has the column already
    if "forced_down" not in _columns():
        op.add_column(
            "host_admin",
            sa.Column("forced_down", sa.Boolean, nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    with op.batch_alter_table("host_admin") as batch:
        batch.drop_column("forced_down")
