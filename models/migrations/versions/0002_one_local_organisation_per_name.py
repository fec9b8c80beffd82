"""One organisation per name outside Slack

Two first web users arriving together could each create the organisation "Lokaal". Merge such
duplicates into the oldest one, then let a partial unique index prevent them.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOCAL = "slack_team_id IS NULL"


def upgrade() -> None:
    conn = op.get_bind()
    duplicates = conn.execute(
        sa.text(f"SELECT name, MIN(id) FROM organisation WHERE {LOCAL} GROUP BY name HAVING COUNT(*) > 1")
    ).all()
    for name, keep in duplicates:
        params = {"name": name, "keep": keep}
        others = f"SELECT id FROM organisation WHERE {LOCAL} AND name = :name AND id <> :keep"
        for table in ("person", "intervention"):
            conn.execute(sa.text(f"UPDATE {table} SET organisation_id = :keep WHERE organisation_id IN ({others})"), params)
        conn.execute(sa.text(f"DELETE FROM organisation WHERE id IN ({others})"), params)
    op.create_index(
        "uq_organisation_local_name",
        "organisation",
        ["name"],
        unique=True,
        sqlite_where=sa.text(LOCAL),
        postgresql_where=sa.text(LOCAL),
    )


def downgrade() -> None:
    op.drop_index("uq_organisation_local_name", table_name="organisation")
