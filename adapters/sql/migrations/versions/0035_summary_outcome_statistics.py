"""Statistics on the summarised events' columns together, so PostgreSQL's planner counts a
pathway's events of one outcome (issue 17).

The dashboard reads a pathway's recorded outcomes of one name: summary_events by pathway,
type and outcome (and truthy, for the gate's). The planner multiplied those conditions'
shares as if they were independent, but an outcome's name is only ever on outcome_recorded
events. At 100,000 clients it expected 45 of gate reception's 89,804 true met_at_gate events
(and 882 of its 129,715 met_at_gate ones), and planned for that: among other things it read
the few events at a hidden step by going through all of the outcome's events, twice per
cold page. Extended statistics (dependencies and the most common combinations, PostgreSQL
10+) let it count them: 91,266 and 131,476 expected, and the events at a hidden step are
looked up by their step. The truth is compared as a value (truthy = true), which these
statistics cover and IS TRUE is not. SQLite has no such statistics: nothing changes there.

Revision ID: 0035_summary_outcome_statistics
Revises: 0034_cases_pathway_facts
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0035_summary_outcome_statistics"
down_revision: str | Sequence[str] | None = "0034_cases_pathway_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATISTICS = "st_summary_events_outcomes"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (dependencies, mcv) "
               "ON pathway, type, outcome, truthy FROM summary_events")
    op.execute("ANALYZE summary_events")  # in use now, not at autovacuum's next analyse


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
