"""The choices the bot offered last, so a typed number or name picks one

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('conversation', sa.Column('offered', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('conversation', 'offered')
