"""A step of a long-running case costs the database what the tenth step did (the benchmark's
600th-vs-10th loop ratio, bench/run.py (b)): no statement of the per-step path may read
more the more rounds the case has done.

Measured without a clock, which a loaded machine makes useless: SQLite counts the virtual
machine instructions it runs (its progress handler, called on every instruction), the same
for the same statements on the same rows whatever else the machine is doing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine import Engine
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.integration.test_summaries_storage import assert_summaries_follow_events
from tests.unit.engine.fakes import FakeClock

ROUNDS = 150
MEASURED = (10, ROUNDS)


def test_a_loop_round_costs_the_database_the_same_however_many_rounds_came_before(
        tmp_path: Path) -> None:
    work: dict[int, Counter[str]] = {}
    counting: dict[str, Any] = {"round": None, "statement": ""}

    with migrated_engine(f"sqlite:///{tmp_path / 'loop.sqlite3'}") as database:

        def instruction() -> int:
            if counting["round"] is not None:
                work[counting["round"]][counting["statement"]] += 1
            return 0  # go on

        @event.listens_for(database, "checkout")
        def count_on(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            dbapi_connection.set_progress_handler(instruction, 1)

        @event.listens_for(database, "before_cursor_execute")
        def name(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            counting["statement"] = " ".join(statement.split())[:90]

        storage, clock = SqlAlchemyUnitOfWorkFactory(database), FakeClock()
        engine = Engine(uow=storage, clock=clock)
        engine.publish(*bundle("loop_checkin"))
        client = engine.add_client("Lou", {"checkins": ROUNDS + 1})
        task_id = engine.start_case("loop_checkin", client.id or 0).tasks[0].task.id
        for done in range(1, ROUNDS + 1):
            if done in MEASURED:
                work[done] = Counter()
                counting["round"] = done
            clock.advance(hours=1 + done % 7)  # each round's task open for its own time
            result = engine.complete_task(task_id, {})
            counting["round"] = None
            task_id = result.tasks[0].task.id
        # and each round's hours still run from its own task's task_ready
        assert_summaries_follow_events(storage, "loop_checkin")

    first, last = (work[done] for done in MEASURED)
    grown = {statement: (first[statement], last[statement]) for statement in last
             if last[statement] > first[statement]}
    assert grown == {}, f"statements that read more after {ROUNDS} rounds than after 10"
    assert sum(first.values()) > 0  # the handler did count
