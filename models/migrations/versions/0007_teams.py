"""Microsoft Teams: organisations per tenant, and the conversations the bot may write to

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOCAL_BEFORE = "slack_team_id IS NULL"
LOCAL_NOW = "slack_team_id IS NULL AND teams_tenant_id IS NULL"


def local_name_index(where: str) -> None:
    op.create_index(
        'uq_organisation_local_name', 'organisation', ['name'], unique=True,
        sqlite_where=sa.text(where), postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    # A plain ADD COLUMN and a unique index: on SQLite a unique constraint would mean copying the
    # table, which foreign keys from the people of existing organisations do not allow.
    op.add_column('organisation', sa.Column('teams_tenant_id', sa.String(length=64), nullable=True))
    op.create_index('uq_organisation_teams_tenant_id', 'organisation', ['teams_tenant_id'], unique=True)
    op.drop_index('uq_organisation_local_name', table_name='organisation')
    local_name_index(LOCAL_NOW)

    op.create_table('teams_conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=400), nullable=False),
    sa.Column('service_url', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'conversation_id')
    )
    with op.batch_alter_table('teams_conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_conversation_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_table('teams_conversation')
    op.drop_index('uq_organisation_local_name', table_name='organisation')
    local_name_index(LOCAL_BEFORE)
    op.drop_index('uq_organisation_teams_tenant_id', table_name='organisation')
    op.drop_column('organisation', 'teams_tenant_id')  # SQLite 3.35+ drops a column in place
