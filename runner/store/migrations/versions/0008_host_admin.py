"""hosts an operator disabled (placement skips them; what runs there stays)

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from runner.store.schema import host_admin

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    host_admin.create(op.get_bind())


def downgrade() -> None:
    host_admin.drop(op.get_bind())
