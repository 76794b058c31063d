"""The engine on real databases (SQLite file and PostgreSQL): transactions, races, recovery."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine import ConflictError, Engine, FormValidationError
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle, intake_sent_its_referral
from tests.integration.engines import at_two_parallel_tasks, complete_at_once, fresh_engine
from tests.unit.engine.fakes import FakeClock


def test_a_case_survives_a_restart_and_continues(uow_factory: UnitOfWorkFactory,
                                                 clock: FakeClock) -> None:
    first = fresh_engine(uow_factory, clock)
    first.publish(*bundle("intake"))
    client = first.add_client("Ann", {"release_date": "2026-03-01"})
    case = first.start_case("intake", client.id or 0)
    first.complete_task(case.tasks[0].task.id, {"risk": "low", "needs_housing": False})

    second = fresh_engine(uow_factory, clock)
    assert second.fire_due_timers(clock.now() + timedelta(days=8)) == 1
    for view in second.get_case(case.case.id or 0).tasks:
        second.complete_task(view.task.id, {}, actor="bo")
    done = second.get_case(case.case.id or 0).case
    assert done.status == "completed"
    seqs = [e.seq for e in second.events(case.case.id or 0)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_invalid_data_writes_nothing(engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    engine.publish(*bundle("intake"))
    client = engine.add_client("Cy")
    case = engine.start_case("intake", client.id or 0)
    with uow_factory() as uow:
        before = uow.cases.get(case.case.id or 0)
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(case.tasks[0].task.id, {"risk": "none"})
    assert set(caught.value.fields) == {"risk", "needs_housing"}
    with uow_factory() as uow:
        after = uow.cases.get(case.case.id or 0)
    assert after == before
    assert len(engine.events(case.case.id or 0)) == 3  # case_started, version_allocated, task_ready


def test_racing_completions_of_one_task_one_wins(uow_factory: UnitOfWorkFactory,
                                                 clock: FakeClock) -> None:
    """Two processes complete the same task at once: exactly one succeeds."""
    setup = fresh_engine(uow_factory, clock)
    setup.publish(*bundle("loop_checkin"))
    client = setup.add_client("Di", {"checkins": 3})
    case = setup.start_case("loop_checkin", client.id or 0)
    task_id = case.tasks[0].task.id
    engines = [fresh_engine(uow_factory, clock) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(engine: Engine) -> None:
        barrier.wait()
        try:
            engine.complete_task(task_id, {})
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as err:
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=complete, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["conflict", "ok"], ["NotFoundError", "ok"])
    completed = [e for e in setup.events(case.case.id or 0) if e.type == "task_completed"]
    assert len(completed) == 1


def test_concurrent_work_on_different_tasks_of_one_case_loses_no_update(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    """Parallel branches completed from two processes: with retries, both land."""
    setup = fresh_engine(uow_factory, clock)
    case_id, parallel = at_two_parallel_tasks(setup)
    errors = complete_at_once(uow_factory, [(task, clock) for task in parallel])
    assert errors == []
    final = setup.get_case(case_id).case
    assert final.status == "completed"
    steps = [e.step for e in setup.events(case_id) if e.type == "task_completed"]
    assert sorted(steps) == ["acknowledge", "assess", "follow_up", "meet"]


def test_timer_worker_and_a_completion_are_serialised(uow_factory: UnitOfWorkFactory,
                                                      clock: FakeClock) -> None:
    """A stale workflow in one process never overwrites what another process saved."""
    web = fresh_engine(uow_factory, clock)
    web.publish(*bundle("intake"))
    client = web.add_client("Flo")
    case = web.start_case("intake", client.id or 0)
    web.complete_task(case.tasks[0].task.id, {"risk": "low", "needs_housing": False})
    worker = fresh_engine(uow_factory, clock)
    assert worker.fire_due_timers(clock.now() + timedelta(days=8)) == 1
    # The web process still holds the pre-timer workflow in memory; its revision is stale,
    # so it must reload rather than act on it.
    tasks = web.get_case(case.case.id or 0).tasks
    assert sorted(t.task.step for t in tasks) == ["acknowledge", "follow_up"]
    web.complete_task(tasks[0].task.id, {})
    types = [e.type for e in web.events(case.case.id or 0)]
    assert types.count("timer_fired") == 1


def test_script_error_is_recorded_and_retry_after_fix(engine: Engine) -> None:
    engine.publish(*bundle("scripted", "x = missing_name + 1"))
    client = engine.add_client("Gus")
    case = engine.start_case("scripted", client.id or 0)
    assert case.case.status == "error"
    assert case.case.error is not None and "missing_name" in case.case.error["message"]
    error_event = engine.events(case.case.id or 0)[-1]
    assert (error_event.type, error_event.step) == ("error", "compute")
    engine.publish(*bundle("scripted", "x = 1"))
    retried = engine.retry_case(case.case.id or 0, version=2, actor="designer")
    assert retried.case.status == "active" and retried.case.version == 2
    engine.complete_task(retried.tasks[0].task.id, {})
    assert engine.get_case(case.case.id or 0).case.status == "completed"


def test_kept_message_is_delivered_once_its_pathway_exists(engine: Engine) -> None:
    engine.publish(*bundle("intake"))
    client, _ = intake_sent_its_referral(engine, "Hal")
    assert engine.deliver_messages() == 0
    engine.publish(*bundle("family_intake"))
    assert engine.deliver_messages() == 1
    assert engine.deliver_messages() == 0
    [family] = engine.list_cases(pathway="family_intake")
    view = engine.get_case(family.id or 0)
    assert family.client_id == client.id
    assert view.tasks[0].task.step == "contact_family"
    assert family.data.get("referral") == {"risk": "high", "client": client.id}


def test_uow_factory_is_the_sql_one(uow_factory: UnitOfWorkFactory) -> None:
    assert isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
