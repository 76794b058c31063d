"""The summaries of recorded outcomes, and the cases' steps by step, read from indexes.

The dashboard now counts its cases in groups in the database (adapters.sql.case_groups):
each case's last recorded value of the outcome asked for, whether the gate was recorded as
met, and the outcomes' names per version and step, all read from the summaries of
outcome_recorded events. Their index by (pathway, type, outcome, case, seq) left the step,
value and whether it is a count or true in the table, one heap read per event; the index
now holds them too, so those reads are index-only scans. Whether a case completed the gate
step is read from its row per step (summary_case_steps) by step, through an index of its
own, not by scanning every step of every case.

Revision ID: 0013_outcome_index
Revises: 0012_step_summaries
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_outcome_index"
down_revision: str | Sequence[str] | None = "0012_step_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ["pathway", "type", "outcome", "case_id", "seq"]


def upgrade() -> None:
    op.drop_index("ix_summary_events_outcomes", "summary_events")
    op.create_index("ix_summary_events_outcomes", "summary_events",
                    [*_KEYS, "step", "value", "counted", "truthy"])
    op.create_index("ix_summary_case_steps_step", "summary_case_steps",
                    ["pathway", "step", "case_id", "done_seq"])


def downgrade() -> None:
    op.drop_index("ix_summary_case_steps_step", "summary_case_steps")
    op.drop_index("ix_summary_events_outcomes", "summary_events")
    op.create_index("ix_summary_events_outcomes", "summary_events", _KEYS)
