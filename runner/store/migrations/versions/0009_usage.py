"""usage records for metering (one row per metered interval of a capsule)

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from runner.store.schema import usage

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    usage.create(op.get_bind())


def downgrade() -> None:
    usage.drop(op.get_bind())
