"""The summaries of recorded outcomes found by the outcome's name alone.

A cohort's measure counts the outcome events of its kind, imported and recorded by pathway
steps; the recorded ones are found by their summaries' outcome name, whatever the pathway
(engine.outcomes.service). The summaries' index of outcomes begins with the pathway, so that
read scanned every summarised event (0.33 s at 5,000,000 events, for none found). This index
holds the named outcomes only (every other event's outcome is null), by name.

Revision ID: 0014_outcome_name_index
Revises: 0013_outcome_index
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_outcome_name_index"
down_revision: str | Sequence[str] | None = "0013_outcome_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMED = sa.text("outcome IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_summary_events_outcome_name", "summary_events",
                    ["outcome", "case_id", "seq"], postgresql_where=_NAMED,
                    sqlite_where=_NAMED)


def downgrade() -> None:
    op.drop_index("ix_summary_events_outcome_name", "summary_events")
