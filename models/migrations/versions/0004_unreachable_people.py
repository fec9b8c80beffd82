"""People the platform no longer lets us reach: their reminders pause until they are back

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('unreachable_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('unreachable_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.drop_column('unreachable_reason')
        batch.drop_column('unreachable_since')
