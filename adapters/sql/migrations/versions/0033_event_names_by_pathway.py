"""The names in the summarised events' data kept with their event's pathway and type, so the
privacy rule's read of one pathway's hidden events reads only that pathway's names (issue 17).

The dashboard finds the events the rule hides by the names in their data
(adapters.sql.step_figures.hidden_by_name) three times per cold dashboard. It sought the
hidden names (pathway names such as mental_health_referral) in the names' index, which holds
them for every pathway and event type, and joined every one to the events to keep the few of
the pathway asked for: at 100,000 clients 189,604 name rows, 0.3 to 1.1 s per read on
PostgreSQL. Each name row now holds its event's pathway and type, copied from
summary_events here and written with them from now on (adapters.sql.summaries), and the
index by (pathway, type, name) replaces the one by name alone, which nothing else reads.

Names of no summarised event (none are written so; the old read's join left any out) are
deleted first, so every row has a pathway and type.

Revision ID: 0033_event_names_by_pathway
Revises: 0030_attachments
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_event_names_by_pathway"
down_revision: str | Sequence[str] | None = "0030_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("pathway", "type")
_INDEX = "ix_summary_event_names_pathway_type_name"


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("summary_event_names", sa.Column(name, sa.String(), nullable=True))
    names = sa.table("summary_event_names", *(sa.column(name) for name in (
        "case_id", "seq", *_COLUMNS)))
    events = sa.table("summary_events", *(sa.column(name) for name in (
        "case_id", "seq", *_COLUMNS)))
    same_event = sa.and_(events.c.case_id == names.c.case_id, events.c.seq == names.c.seq)
    op.execute(sa.delete(names).where(~sa.exists().where(same_event)))
    # one UPDATE ... FROM, the events joined once (SQLite 3.33+ as PostgreSQL)
    op.execute(sa.update(names).values({name: events.c[name] for name in _COLUMNS})
               .where(same_event))
    op.drop_index("ix_summary_event_names_name", table_name="summary_event_names")
    with op.batch_alter_table("summary_event_names") as batch:  # SQLite: a copy
        for name in _COLUMNS:
            batch.alter_column(name, existing_type=sa.String(), nullable=False)
    op.create_index(_INDEX, "summary_event_names",
                    ["pathway", "type", "name", "case_id", "seq"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="summary_event_names")
    op.create_index("ix_summary_event_names_name", "summary_event_names", ["name"])
    # a plain DROP COLUMN (SQLite 3.35+): nothing else changes
    for name in _COLUMNS:
        op.drop_column("summary_event_names", name)
