"""Expert analyses: an expert's assessment of a published description, per step and as a whole

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=True),
    sa.Column('elements', sa.Text(), nullable=True),
    sa.Column('references', sa.JSON(), nullable=True),
    sa.Column('judgement', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['expert_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('intervention_id', 'expert_id')
    )
    op.create_index(op.f('ix_analysis_intervention_id'), 'analysis', ['intervention_id'], unique=False)
    op.create_index(op.f('ix_analysis_expert_id'), 'analysis', ['expert_id'], unique=False)
    op.create_index(op.f('ix_analysis_published_at'), 'analysis', ['published_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_analysis_published_at'), table_name='analysis')
    op.drop_index(op.f('ix_analysis_expert_id'), table_name='analysis')
    op.drop_index(op.f('ix_analysis_intervention_id'), table_name='analysis')
    op.drop_table('analysis')
