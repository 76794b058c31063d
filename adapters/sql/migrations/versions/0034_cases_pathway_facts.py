"""The index of cases by pathway and status carries what the dashboard counts them by (id,
version, created_at, client), so PostgreSQL reads a pathway's cases from the index alone
(issue 17).

The dashboard's groups (adapters.sql.case_groups) read every case of the pathway asked for.
PostgreSQL read them from the table, whose rows hold each case's state: at 100,000 clients
it scanned all 518,899 cases (702 MB) to keep gate reception's 159,638, 0.2 s of a cold
page's 0.9 s. From the index (INCLUDE columns, PostgreSQL 11+) it reads 11 MB in 16 ms. The
index keeps its name and key, so what used it still does; none of the included columns
changes when a step is saved, so a case's row is updated in place (HOT) as before. SQLite
has no INCLUDE: its index is made again as it was.

Revision ID: 0034_cases_pathway_facts
Revises: 0033_event_names_by_pathway
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0034_cases_pathway_facts"
down_revision: str | Sequence[str] | None = "0033_event_names_by_pathway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_cases_pathway_status"
INCLUDED = ["id", "version", "created_at", "client_id"]  # adapters.sql.tables's


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="cases")
    op.create_index(_INDEX, "cases", ["pathway", "status"], postgresql_include=INCLUDED)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="cases")
    op.create_index(_INDEX, "cases", ["pathway", "status"])
