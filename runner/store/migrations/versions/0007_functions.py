"""functions, their warm instances, and asynchronous invocations

Revision ID: 0007
Revises: 0006

The three tables are created as ``runner/store/schema.py`` defines them at this
revision; any later change to them comes as a new migration.
"""

from alembic import op

from runner.store.schema import function_instances, functions, invocations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in (functions, function_instances, invocations):
        table.create(op.get_bind())


def downgrade() -> None:
    for table in (invocations, function_instances, functions):
        table.drop(op.get_bind())
