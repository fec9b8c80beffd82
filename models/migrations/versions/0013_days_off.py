"""Days off: a person's announced absence (the last day away, inclusive), when no reminders come

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite has: a batch would copy the table, and with people already
    # referenced by every other table SQLite refuses to drop the old copy.
    op.add_column('person', sa.Column('away_until', sa.Date(), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE person DROP COLUMN away_until')  # SQLite has it since 3.35; no table copy
