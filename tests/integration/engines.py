"""Helpers the integration tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import threading

from engine import ConflictError, Engine
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.unit.engine.fakes import FakeClock


def fresh_engine(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> Engine:
    """Another process's view: its own caches (no live workflow), the same database."""
    return Engine(uow=uow_factory, clock=clock)


def at_two_parallel_tasks(engine: Engine) -> tuple[int, list[str]]:
    """The intake pathway published and a case (client Ed) taken past its first two tasks to
    its two parallel branches: the case and the ids of the two open tasks."""
    engine.publish(*bundle("intake"))
    client = engine.add_client("Ed")
    case = engine.start_case("intake", client.id or 0)
    case_id = case.case.id or 0
    engine.complete_task(case.tasks[0].task.id, {"risk": "high", "needs_housing": True})
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    parallel = [view.task.id for view in engine.get_case(case_id).tasks]
    assert len(parallel) == 2
    return case_id, parallel


def complete_at_once(uow_factory: UnitOfWorkFactory,
                     tasks: list[tuple[str, FakeClock]]) -> list[BaseException]:
    """Each task completed by its own process (an Engine with that clock) at the same moment,
    a conflict retried up to 20 times: the errors other than conflicts."""
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def complete(task_id: str, clock: FakeClock) -> None:
        engine = Engine(uow=uow_factory, clock=clock)
        barrier.wait()
        for _attempt in range(20):
            try:
                engine.complete_task(task_id, {})
                return
            except ConflictError:
                continue
            except BaseException as err:
                errors.append(err)
                return

    threads = [threading.Thread(target=complete, args=pair) for pair in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
