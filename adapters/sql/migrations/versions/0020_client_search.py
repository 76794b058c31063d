"""Client search in the database (issue 17, item 3): each client's name lowered as Python
lowers it (search_name), indexed with its id for the list's order and, on PostgreSQL, by
trigrams (pg_trgm) for substring search; two partial indexes of the access log the access
rule reads for every client (who created it; the few entries written under break-glass).

The extension goes in the schema public (CREATE EXTENSION IF NOT EXISTS ... SCHEMA public)
unless it is installed already: the index names its operator class with the schema the
extension is in, so a database whose search path leaves that schema out still works.

Revision ID: 0020_client_search
Revises: 0019_event_chain
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sql.client_search import glass_entry

revision: str = "0020_client_search"
down_revision: str | Sequence[str] | None = "0019_event_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column(
            "search_name", sa.String(collation="C") if postgres else sa.String(),
            nullable=False, server_default=""))
    clients = sa.table("clients", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                       sa.column("search_name", sa.String()))
    rows = bind.execute(sa.select(clients.c.id, clients.c.name)).all()
    update = sa.update(clients).where(clients.c.id == sa.bindparam("b_id")).values(
        search_name=sa.bindparam("b_search_name"))
    for start in range(0, len(rows), BATCH):
        bind.execute(update, [{"b_id": row.id, "b_search_name": row.name.lower()}
                              for row in rows[start:start + BATCH]])
    op.create_index("ix_clients_search_name_id", "clients", ["search_name", "id"])
    created = sa.text("action = 'create_client'")
    op.create_index("ix_access_log_created_by", "access_log", ["client_id", "organisation"],
                    postgresql_where=created, sqlite_where=created)
    glass = sa.text(glass_entry(bind.dialect.name))
    op.create_index("ix_access_log_break_glass", "access_log", ["action", "client_id"],
                    postgresql_where=glass, sqlite_where=glass)
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        schema = bind.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'").scalar_one()
        op.execute(f'CREATE INDEX ix_clients_search_name_trgm ON clients USING gin '
                   f'(search_name "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_clients_search_name_trgm", table_name="clients")
    op.drop_index("ix_access_log_break_glass", table_name="access_log")
    op.drop_index("ix_access_log_created_by", table_name="access_log")
    op.drop_index("ix_clients_search_name_id", table_name="clients")
    # a plain DROP COLUMN (SQLite 3.35+): batch mode would copy and drop the clients table,
    # which SQLite's foreign keys refuse while cases and consents refer to its rows
    op.execute("ALTER TABLE clients DROP COLUMN search_name")
