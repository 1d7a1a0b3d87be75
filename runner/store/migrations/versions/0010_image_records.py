"""image records: tags a project committed, images a project pulled with its registry credentials

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from runner.store.schema import image_records

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    image_records.create(op.get_bind())


def downgrade() -> None:
    image_records.drop(op.get_bind())
