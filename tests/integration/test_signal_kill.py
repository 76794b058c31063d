"""A router killed with SIGKILL part-way through a broadcast loses no delivery and makes no
second one (issue 17): the process completing the thrower's task is killed inside the third
case's delivery transaction; the two delivered before keep their signal, the one being
delivered is rolled back with the process, and the next round delivers it and the rest, each
exactly once. (test_signal_durability.py stops the router by an exception at chosen points;
this is the real thing, on SQLite and PostgreSQL.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from adapters.sql.database import make_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from engine import Engine
from tests.integration.test_signal_durability import received, steps, waiting_catchers
from tests.unit.engine.fakes import FakeClock

CATCHERS = 6

ROUTER = textwrap.dedent("""
    import sys, time
    from adapters.sql.database import make_engine
    from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
    from engine import Engine
    from engine.cases import message_commands
    from tests.unit.engine.fakes import FakeClock

    real = message_commands.receive
    handed = []

    def receive(message, now, delivery_id=None):
        action = real(message, now, delivery_id)

        def hand(*args):
            handed.append(delivery_id)
            if len(handed) == 3:  # inside the third case's delivery transaction
                print("killing-point", flush=True)
                time.sleep(120)
            return action(*args)
        return hand

    message_commands.receive = receive
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(make_engine(sys.argv[1])),
                    clock=FakeClock())
    engine.complete_task(sys.argv[2], {})
    print("finished", flush=True)
""")


@pytest.fixture
def on_disk(migrated_database_url: str) -> Iterator[Engine]:
    database = make_engine(migrated_database_url)
    try:
        yield Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
    finally:
        database.dispose()


def test_a_router_killed_mid_broadcast_leaves_each_delivery_to_happen_once(
        on_disk: Engine, migrated_database_url: str) -> None:
    engine = on_disk
    thrower, catchers = waiting_catchers(engine, CATCHERS)
    [view] = engine.get_case(thrower.id or 0).tasks
    router = subprocess.Popen(
        [sys.executable, "-c", ROUTER, migrated_database_url, view.task.id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert router.stdout is not None
        line = router.stdout.readline()
    finally:
        router.send_signal(signal.SIGKILL)
        _out, err = router.communicate(timeout=30)
    assert line.strip() == "killing-point", (line, err)
    assert router.returncode == -signal.SIGKILL

    before = [received(engine, c.id) for c in catchers]
    assert sorted(before) == [0] * (CATCHERS - 2) + [1, 1]  # two delivered, the third undone
    assert engine.deliver_messages() == CATCHERS - 2  # the worker's next round
    assert [received(engine, c.id) for c in catchers] == [1] * CATCHERS
    assert all(steps(engine, c.id) == ["move_in"] for c in catchers)
    assert engine.deliver_messages() == 0
    assert [received(engine, c.id) for c in catchers] == [1] * CATCHERS
