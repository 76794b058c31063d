"""Group commit: several cases' commands in one transaction, each in a savepoint of its own.

A durable commit waits for the disk (SQLite `synchronous=FULL`, PostgreSQL
`synchronous_commit=on`: 0.2 to 5 ms here), and a worker that finds a batch of due timers
ready at once would otherwise pay it once per case. Here it pays it once per batch: the
batch's cases are claimed one by one inside the one transaction (each claim locks its case
until the commit, so other workers skip it), each case's claim and command run in a
savepoint, and a case whose command fails is undone alone (ROLLBACK TO its savepoint, which
releases its claim too) and handed back to the caller with its error, while the others
commit together.

The claim is made inside the case's savepoint, not before it: on PostgreSQL a row locked by
the transaction and then changed in a savepoint (a subtransaction) gets a MultiXact as its
xmax (the lock and the change are two transaction ids), and every later scan that meets the
old row (the claim walks the fired timers' dead rows until vacuum) looks its members up again,
under a lock all the workers share; locked and changed by the one savepoint, it gets a plain
xmax. What must wait for a commit (the live-case
cache, notifications, message routing) runs for each case only after the batch's commit, as
CaseRuntime.command does for one.

A case whose command fails is handed to `record` (if given) right after, in a savepoint of
its own in the batch (engine.workflow.failures.put_in_error, under a claim made again): its
failure commits with the batch. Recorded after the commit instead, another worker could claim
the case in between (the rolled-back savepoint released it), fire it, and then see it put in
error for a failure that had passed.

A batch stops at `limit` cases or after `seconds`, whichever comes first: on SQLite the
batch holds the database's write lock from its first claim to its commit, so a web request
waits at most about that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import CaseStateError, ConflictError
from engine.ports import UnitOfWork
from engine.workflow.case_runtime import (
    Action,
    CaseRuntime,
    CommandOutcome,
    outcome_of,
    tell,
)
from engine.workflow.failures import failure_reason, log_unrecorded

# Claims the next case of a batch inside its transaction (locking it), or None: no more;
# never one of the cases given (those the batch has claimed already: a case that failed,
# or had nothing to do, would otherwise be claimed again and again until the limit).
Claim = Callable[[UnitOfWork, Collection[int]], int | None]
# Records a case's failure in the batch's transaction: (the message, whether it was put in
# error), or None when the case is no longer the failed one's (another worker holds it, or
# it moved on) and is left to whoever has it.
Record = Callable[[UnitOfWork, int, Exception], tuple[str, bool] | None]


@dataclass
class BatchResult:
    """What one batch did: the commands committed together, the cases left for later
    because another command held or changed them, and the cases whose command failed."""

    done: list[CommandOutcome] = field(default_factory=list)
    passed: list[tuple[int, Exception]] = field(default_factory=list)
    failed: list[tuple[int, Exception]] = field(default_factory=list)
    # the failed cases `record` saw to in the batch: (case, message, put in error)
    recorded: list[tuple[int, str, bool]] = field(default_factory=list)
    exhausted: bool = False  # the claim found no more cases (not the limit or the time)

    @property
    def cases(self) -> int:
        return len(self.done) + len(self.passed) + len(self.failed)


def run_batch(rt: CaseRuntime, claim: Claim, now: datetime, action: Action, *,
              limit: int, seconds: float, allow: tuple[str, ...] = ("active",),
              record: Record | None = None) -> BatchResult:
    """Claim and run up to `limit` cases' commands in one transaction with one commit.
    A failing claim (the database, not a case) raises, and the batch commits nothing."""
    result = BatchResult()
    steps: list[float] = []
    claimed: set[int] = set()
    started = time.perf_counter()
    with rt.uow() as uow:
        while result.cases < limit and time.perf_counter() - started < seconds:
            case_id: int | None = None
            step_started = time.perf_counter()
            try:
                with uow.savepoint():  # the claim too: see the module's docstring
                    case_id = claim(uow, claimed)
                    if case_id is None:
                        result.exhausted = True
                        break
                    claimed.add(case_id)
                    outcome = rt.run_on(uow, case_id, now, action, allow)
            except Exception as err:  # one bad case must not undo the batch
                if case_id is None:  # the claim itself failed: the database, not a case
                    raise
                kept = result.passed if isinstance(err, ConflictError | CaseStateError) \
                    else result.failed
                kept.append((case_id, err))
                if kept is result.failed and record is not None:
                    _record(uow, record, case_id, err, result)
                tell(rt.observer.step_done, case_id, outcome_of(err),
                     time.perf_counter() - step_started)
                continue
            result.done.append(outcome)
            steps.append(time.perf_counter() - step_started)
        if result.done or result.recorded:
            uow.commit()
    for outcome, seconds_taken in zip(result.done, steps, strict=True):
        tell(rt.observer.step_done, outcome.record.id, "ok", seconds_taken)
        rt.after_commit(outcome)
    return result


def _record(uow: UnitOfWork, record: Record, case_id: int, err: Exception,
            result: BatchResult) -> None:
    """The failed case's record, in a savepoint of its own; if that fails too (the database),
    it is left out and the case is tried again in a later round."""
    try:
        with uow.savepoint():
            recorded = record(uow, case_id, err)
    except Exception as second:
        log_unrecorded(case_id, failure_reason(err), second)
        return
    if recorded is not None:
        result.recorded.append((case_id, *recorded))
