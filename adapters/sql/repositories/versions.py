"""Storage of versions management: allocation policies and migration runs."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, or_, select, update

from adapters.sql import tables
from adapters.sql.repositories.common import (
    SqlRepository,
    columns_of,
    insert_id,
    insert_if_absent,
    known_no_waits,
    matching,
    record_from,
)
from engine.errors import ConflictError, NotFoundError
from engine.model import AllocationPolicy, Migration, MigrationCase, MigrationTally
from engine.workflow import current_time


class SqlAllocationRepository(SqlRepository):
    """Which version new cases of a pathway get; every policy ever set is kept, in order."""

    def set(self, policy: AllocationPolicy) -> AllocationPolicy:
        """Insert policy as the pathway's newest one (set_at stamped now if None)."""
        set_at = policy.set_at or current_time()
        weights = _sorted_weights(policy.weights)
        new_id = insert_id(self._connection, tables.allocation_policies, columns_of(
            policy, set_at=set_at,
            weights={str(version): weight for version, weight in weights.items()}))
        return replace(policy, id=new_id, set_at=set_at, weights=weights)

    def current(self, pathway: str) -> AllocationPolicy | None:
        a = tables.allocation_policies
        return self._one(_allocation, select(a).where(a.c.pathway == pathway)
                         .order_by(a.c.id.desc()).limit(1))

    def history(self, pathway: str) -> builtins.list[AllocationPolicy]:
        a = tables.allocation_policies
        rows = self._connection.execute(select(a).where(a.c.pathway == pathway).order_by(a.c.id))
        return [_allocation(row) for row in rows]


def _sorted_weights(weights: Mapping[Any, int]) -> dict[int, int]:
    """Weights keyed by version number, in ascending version order.

    JSONB does not keep the order keys were written in, so neither backend promises it: a
    fixed order keeps anything iterating the weights the same wherever they were read.
    """
    return {int(version): weights[version] for version in sorted(weights, key=int)}


def _allocation(row: Row[Any]) -> AllocationPolicy:
    return record_from(AllocationPolicy, row, weights=_sorted_weights(row.weights))


class SqlMigrationRepository(SqlRepository):
    """Runs moving cases between versions, with what each did to every case it touched."""

    def add(self, migration: Migration) -> Migration:
        new_id = insert_id(self._connection, tables.migrations, columns_of(migration))
        return replace(migration, id=new_id)

    def get(self, migration_id: int) -> Migration | None:
        m = tables.migrations
        return self._one(_migration, select(m).where(m.c.id == migration_id))

    def list(self, pathway: str | None = None) -> builtins.list[Migration]:
        m = tables.migrations
        return self._all(_migration,
                         select(m).where(*matching((m.c.pathway, pathway))).order_by(m.c.id))

    def finish(self, migration_id: int, at: datetime) -> None:
        m = tables.migrations
        result = self._connection.execute(
            update(m).where(m.c.id == migration_id).values(finished_at=at)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"migration {migration_id} does not exist",
                                details={"migration": migration_id})

    def progress(self, migration_id: int, checked: int, at: datetime) -> None:
        m = tables.migrations
        result = self._connection.execute(
            update(m).where(m.c.id == migration_id).values(checked=checked, progressed_at=at))
        if result.rowcount == 0:
            raise NotFoundError(f"migration {migration_id} does not exist",
                                details={"migration": migration_id})

    def add_case(self, result: MigrationCase) -> None:
        """Record result after the migration's earlier ones.

        ConflictError when the migration has a result for the case already; the
        transaction stays usable (the insert is skipped, not failed).
        """
        mc = tables.migration_cases
        position = (
            select(func.coalesce(func.max(mc.c.position), 0) + 1)
            .where(mc.c.migration_id == result.migration_id)
            .scalar_subquery()
        )
        inserted = self._connection.execute(
            insert_if_absent(self._connection, mc)
            .values(**columns_of(result, leave_out=(), position=position))
            .returning(mc.c.position)
        ).scalar_one_or_none()
        if inserted is None:
            raise ConflictError(
                f"migration {result.migration_id} has a result for case {result.case_id} "
                "already",
                details={"migration": result.migration_id, "case": result.case_id},
            )

    def cases(self, migration_id: int) -> builtins.list[MigrationCase]:
        mc = tables.migration_cases
        rows = self._connection.execute(
            select(mc).where(mc.c.migration_id == migration_id).order_by(mc.c.position)
        )
        return [record_from(MigrationCase, row, ok=bool(row.ok), waiting=bool(row.waiting))
                for row in rows]

    def waiting(self, case_id: int | None = None) -> builtins.list[MigrationCase]:
        if case_id is not None and known_no_waits(self._connection, case_id):
            return []  # read with the step's events (adapters.sql.append_read)
        mc = tables.migration_cases
        rows = self._connection.execute(
            select(mc).where(mc.c.waiting.is_(True), *matching((mc.c.case_id, case_id)))
            .order_by(mc.c.migration_id, mc.c.case_id))
        return [record_from(MigrationCase, row, ok=bool(row.ok), waiting=True)
                for row in rows]

    def settle(self, result: MigrationCase) -> None:
        """Write what became of a waiting case; ConflictError if it no longer waits."""
        mc = tables.migration_cases
        values = columns_of(result, leave_out=("migration_id", "case_id"))
        done = self._connection.execute(
            update(mc).where(mc.c.migration_id == result.migration_id,
                             mc.c.case_id == result.case_id, mc.c.waiting.is_(True))
            .values(**values))
        if done.rowcount == 0:
            raise ConflictError(
                f"case {result.case_id} no longer waits in migration {result.migration_id}",
                details={"migration": result.migration_id, "case": result.case_id})

    def tallies(self, pathway: str) -> dict[int, MigrationTally]:
        m, mc = tables.migrations, tables.migration_cases
        moved = func.sum(case((mc.c.ok, 1), else_=0))
        rows = self._connection.execute(
            select(mc.c.migration_id, moved, func.count() - moved,
                   func.count(mc.c.reverted_by))
            .join(m, m.c.id == mc.c.migration_id)
            .where(m.c.pathway == pathway)
            .group_by(mc.c.migration_id))
        return {row[0]: MigrationTally(int(row[1]), int(row[2]), bool(row[3]))
                for row in rows}

    def mark_reverted(self, migration_id: int, case_id: int, by: int) -> None:
        """Set reverted_by; ConflictError if another migration put the case back already."""
        mc = tables.migration_cases.c
        result = self._connection.execute(
            update(tables.migration_cases)
            .where(mc.migration_id == migration_id, mc.case_id == case_id,
                   or_(mc.reverted_by.is_(None), mc.reverted_by == by))
            .values(reverted_by=by)
        )
        if result.rowcount == 0:
            reverted_by = self._connection.execute(
                select(mc.reverted_by)
                .where(mc.migration_id == migration_id, mc.case_id == case_id)
            ).one_or_none()
            details = {"migration": migration_id, "case": case_id}
            if reverted_by is None:
                raise NotFoundError(
                    f"migration {migration_id} has no result for case {case_id}",
                    details=details,
                )
            raise ConflictError(
                f"case {case_id} of migration {migration_id} was put back by migration "
                f"{reverted_by[0]} already",
                details={**details, "reverted_by": reverted_by[0]},
            )


def _migration(row: Row[Any]) -> Migration:
    return record_from(Migration, row)
