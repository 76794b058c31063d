"""A tamper-evident record: every event gets a hash chaining it to the event before it in
its case (engine.integrity), and the daily chain heads get their table.

The events stored before this revision are hashed here, case by case in sequence order,
read and written in batches (keyset pages on the (case_id, seq) index), so a large log is
migrated in constant memory on SQLite and PostgreSQL alike.

Revision ID: 0022_event_chain
Revises: 0018_migration_round_waits
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from adapters.sql.tables import UtcDateTime
from engine.integrity import GENESIS, event_hash

revision: str = "0022_event_chain"
down_revision: str | Sequence[str] | None = "0018_migration_round_waits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# the events table as this revision knows it
_events = sa.table("events", sa.column("id", sa.BigInteger()), sa.column("case_id", sa.Integer()),
                   sa.column("seq", sa.Integer()), sa.column("type", sa.String()),
                   sa.column("at", UtcDateTime()), sa.column("step", sa.String()),
                   sa.column("actor", sa.String()), sa.column("data", _json()),
                   sa.column("hash", sa.String()))
_SET_HASH = (sa.update(_events).where(_events.c.id == sa.bindparam("b_id"))
             .values(hash=sa.bindparam("b_hash")))


def upgrade() -> None:
    op.add_column("events", sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "chain_heads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_heads"),
        sa.UniqueConstraint("day", name="uq_chain_heads_day"),
    )
    hash_stored_events(op.get_bind())


def hash_stored_events(connection: sa.Connection) -> int:
    """Chain every stored event, a page of BATCH at a time; the number hashed."""
    e = _events.c
    after, case_id, previous, done = (0, 0), None, GENESIS, 0
    while True:
        rows = connection.execute(
            sa.select(e.id, e.case_id, e.seq, e.type, e.at, e.step, e.actor, e.data)
            .where(sa.tuple_(e.case_id, e.seq) > sa.tuple_(*after))
            .order_by(e.case_id, e.seq).limit(BATCH)).all()
        if not rows:
            return done
        hashes = []
        for row in rows:
            if row.case_id != case_id:
                case_id, previous = row.case_id, GENESIS
            previous = event_hash(row.case_id, row.seq, row.type, row.at, row.step, row.actor,
                                  row.data, previous)
            hashes.append({"b_id": row.id, "b_hash": previous})
        connection.execute(_SET_HASH, hashes)
        done += len(rows)
        after = (rows[-1].case_id, rows[-1].seq)


def downgrade() -> None:
    op.drop_table("chain_heads")
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of `events` is not needed
    op.drop_column("events", "hash")
