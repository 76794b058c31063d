"""A case's exit reason gets its own column, out of the case data.

The engine used to write the reason of the end event a case reached into its data as
`exit_reason`, over any form answer of that name (the gate reception's exit review lost the
caseworker's "reconvicted"). It now keeps it in `cases.exit_reason`. Stored cases are moved
over so every case reads the same way: the reason comes from the case's `case_completed`
event (which always recorded the end's reason), and the data gets back the form answer the
engine overwrote (the last `task_completed` event that submitted `exit_reason`), or loses the
key when no form had one.

Revision ID: 0008_data
Revises: 0007_signals
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_data"
down_revision: str | Sequence[str] | None = "0007_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# The two tables as this revision knows them (not the application's, which move on).
_cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("status", sa.String()),
                  sa.column("data", _json()), sa.column("exit_reason", sa.String()))
_events = sa.table("events", sa.column("case_id", sa.Integer()), sa.column("seq", sa.Integer()),
                   sa.column("type", sa.String()), sa.column("data", _json()))


def upgrade() -> None:
    op.add_column("cases", sa.Column("exit_reason", sa.String(), nullable=True))
    connection = op.get_bind()
    ended = connection.execute(
        sa.select(_events.c.case_id, _events.c.data)
        .where(_events.c.type == "case_completed").order_by(_events.c.case_id, _events.c.seq)
    ).all()
    reasons: dict[int, str] = {}
    for case_id, data in ended:  # the last completion of a case counts
        reason = data.get("exit_reason") if isinstance(data, dict) else None
        if isinstance(reason, str):
            reasons[case_id] = reason
        else:
            reasons.pop(case_id, None)
    for case_id, reason in reasons.items():
        data = connection.execute(
            sa.select(_cases.c.data).where(_cases.c.id == case_id)).scalar_one_or_none()
        if not isinstance(data, dict):
            continue
        answers = connection.execute(
            sa.select(_events.c.data)
            .where(_events.c.case_id == case_id, _events.c.type == "task_completed")
            .order_by(_events.c.seq.desc())
        ).scalars()
        answer = next((a["data"]["exit_reason"] for a in answers
                       if isinstance(a, dict) and isinstance(a.get("data"), dict)
                       and "exit_reason" in a["data"]), None)
        restored = {k: v for k, v in data.items() if k != "exit_reason"}
        if answer is not None:
            restored["exit_reason"] = answer
        connection.execute(sa.update(_cases).where(_cases.c.id == case_id)
                           .values(exit_reason=reason, data=restored))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_cases.c.id, _cases.c.data, _cases.c.exit_reason)
                              .where(_cases.c.exit_reason.is_not(None))).all()
    for case_id, data, reason in rows:  # back where the old engine wrote it
        merged = {**(data if isinstance(data, dict) else {}), "exit_reason": reason}
        connection.execute(sa.update(_cases).where(_cases.c.id == case_id).values(data=merged))
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of `cases` would break the foreign
    # keys other tables hold on it
    op.drop_column("cases", "exit_reason")
