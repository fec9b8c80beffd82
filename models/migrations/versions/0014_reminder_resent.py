"""Reminders: when a snoozed reminder was asked again, from which its nudge and escalation count

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reminder', sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True))  # a plain ADD COLUMN, as 0013


def downgrade() -> None:
    op.execute('ALTER TABLE reminder DROP COLUMN resent_at')
