"""Benchmarks, printed as ratios measured side by side in one run (machines here are noisy).

(a) per-step cost of completing a task through Pathways (SQL commit, event rows, inbox rows
    included) against SpiffWorkflow alone doing naive persistence: deserialize -> complete ->
    engine steps -> serialize, no database. Goal: ratio <= 1.0.
(b) completing the 600th iteration of a gateway back-edge loop against the 10th. Goal: <= 2.0.
(c) both again on PostgreSQL.

Run: `make bench` (or `python -m bench.run --help`).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import read_bundle
from adapters.settings import Settings
from adapters.sql.database import DURABILITIES, DURABILITY_VARIABLE, durability_from_env

DATA = Path(__file__).parent / "data"
LINEAR = DATA / "linear10.bpmn"
LOOP = DATA / "loop_checkin.bpmn"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def naive_spiff_steps(cases: int) -> list[float]:
    """SpiffWorkflow alone: every step reloads the whole case from JSON and writes it back."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(LINEAR)])
    spec, subprocesses = parser.get_spec("linear10"), parser.get_subprocess_specs("linear10")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    states = []
    for _ in range(cases):
        workflow = BpmnWorkflow(spec, subprocesses)
        workflow.do_engine_steps()
        states.append(serializer.serialize_json(workflow))
    samples = []
    for _step in range(10):
        for index in range(cases):
            started = time.perf_counter()
            workflow = serializer.deserialize_json(states[index])
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.run()
            workflow.do_engine_steps()
            states[index] = serializer.serialize_json(workflow)
            samples.append(time.perf_counter() - started)
    return samples


def pathways_steps(app: Application, cases: int) -> list[float]:
    """Pathways: complete_task, including the database transaction it commits."""
    engine = app.engine
    files, main = read_bundle(LINEAR)
    engine.publish(files, main)
    client = engine.add_client("Bench client")
    open_tasks = [engine.start_case("linear10", client.id or 0).tasks[0].task.id
                  for _ in range(cases)]
    samples = []
    for _step in range(10):
        for index in range(cases):
            started = time.perf_counter()
            result = engine.complete_task(open_tasks[index], {})
            samples.append(time.perf_counter() - started)
            open_tasks[index] = result.tasks[0].task.id if result.tasks else ""
    return samples


def loop_iterations(app: Application, iterations: int) -> list[float]:
    engine = app.engine
    files, main = read_bundle(LOOP)
    engine.publish(files, main)
    client = engine.add_client("Loop client", {"checkins": iterations})
    task_id = engine.start_case("loop_checkin", client.id or 0).tasks[0].task.id
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = engine.complete_task(task_id, {})
        samples.append(time.perf_counter() - started)
        task_id = result.tasks[0].task.id if result.tasks else ""
    if result.status != "completed":
        raise SystemExit(f"loop case ended {result.status} after {iterations} iterations")
    return samples


def commit_floor(app: Application, rounds: int) -> list[float]:
    """The database's own floor: one small UPDATE and a durable COMMIT, nothing else."""
    samples = []
    with app.database.connect() as connection:
        connection.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, n INTEGER)"))
        connection.execute(text("INSERT INTO bench_floor VALUES (1, 0)"))
        connection.commit()
        for _ in range(rounds):
            started = time.perf_counter()
            connection.execute(text("UPDATE bench_floor SET n = n + 1 WHERE id = 1"))
            connection.commit()
            samples.append(time.perf_counter() - started)
    return samples


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pathways-bench-") as folder:
        yield f"sqlite:///{folder}/bench.sqlite"


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A throwaway database on the server, dropped afterwards."""
    name = f"pathways_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def application(url: str, *, live_cases: int = 1024) -> Iterator[Application]:
    app = bootstrap(Settings(database_url=url, live_cases=live_cases))
    try:
        yield app
    finally:
        app.close()


def measure(label: str, database: Callable[[], Any], cases: int, iterations: int) -> None:
    gc.collect()
    naive_runs, ours_runs, cold_runs = [], [], []
    for _round in range(2):  # interleave the contenders so drift hits both alike
        naive_runs += naive_spiff_steps(cases)
        with database() as url, application(url) as app:
            ours_runs += pathways_steps(app, cases)
        with database() as url, application(url, live_cases=0) as app:
            cold_runs += pathways_steps(app, cases)
    with database() as url, application(url) as app:
        loop = loop_iterations(app, iterations)
        floor = _median_us(commit_floor(app, 200))
    naive, ours, cold = _median_us(naive_runs), _median_us(ours_runs), _median_us(cold_runs)
    tenth = _median_us(loop[5:15])
    last = _median_us(loop[iterations - 10:iterations])
    print(f"\n== {label} ==")
    print(f"(a) per step, 10-step pathway, {cases} cases, median of {len(ours_runs)} steps")
    print(f"    SpiffWorkflow alone, naive persistence   {naive:9.0f} us")
    print(f"    Pathways (live case cache)               {ours:9.0f} us   ratio {ours / naive:.2f}"
          "  (goal <= 1.0)")
    print(f"    Pathways (cache off: load every step)    {cold:9.0f} us   ratio {cold / naive:.2f}")
    print(f"    for reference, the database alone: one UPDATE + COMMIT {floor:7.0f} us"
          f"  ({durability_from_env()} durability)")
    print(f"(b) back-edge loop, {iterations} iterations (median of 10 around each point)")
    print(f"    iteration 10                             {tenth:9.0f} us")
    print(f"    iteration {iterations}                            {last:9.0f} us   "
          f"ratio {last / tenth:.2f}  (goal <= 2.0)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="server URL for (c); 'off' to skip")
    parser.add_argument("--durability", choices=DURABILITIES, default=durability_from_env(),
                        help="commits flushed to disk (full, the default) or not (relaxed)")
    args = parser.parse_args(argv)
    os.environ[DURABILITY_VARIABLE] = args.durability  # every application the bench builds
    print(f"Python {sys.version.split()[0]}; ratios compare runs made side by side; "
          f"{args.durability} durability (commits {'' if args.durability == 'full' else 'not '}"
          "flushed to disk)")
    measure("SQLite (file, WAL)", sqlite_database, args.cases, args.iterations)
    if args.postgres != "off":
        measure("PostgreSQL", lambda: postgres_database(args.postgres), args.cases,
                args.iterations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
