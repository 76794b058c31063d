"""Benchmark (issue 19): the per-step cost a deployment sees, against a fair naive baseline.

`bench/run.py`'s (a) completes a 10-step pathway without forms on 100 cases that all stay in
the live-case cache, against a naive baseline that re-serialises the spec on every step. A
programme is not that. Here, side by side in one run, per database:

- workloads: the shipped gate reception pathway with plausible answers to its forms (its
  gateways, timers and lanes as they come), and the 10-step linear one; a population of
  active cases (`--population`, e.g. 20,000) against the live-case cache (`--cache`, 1,024 by
  default as in production), a step at random among them, so most steps miss the cache as
  they do with many processes and restarts; a case that ends or waits on a timer is replaced
  by a new one (not timed); and the gate reception workload again in two processes on the
  same database, each on half of the cases;
- the baseline: SpiffWorkflow alone with the same parsed spec (parsed once, cached) and the
  same script engine, with naive persistence in the same database and durability: read the
  case's JSON (without the spec), load, answer, run, dump, and write it back with one UPDATE
  and a COMMIT. It neither validates the answers nor writes events, inbox rows or summaries.
  The same kept in memory (no database at all) is printed beside it, not used for the ratio;
- printed for each: median and p95 per step, the ratio to the baseline, the live-case cache's
  hit rate, SQL statements and commits per step, and the commit floor (one UPDATE and COMMIT
  in the durability the run uses, PATHWAYS_DURABILITY or `--durability`).

Run: `python -m bench.realistic` (4,096 cases, 600 steps a workload) or
`python -m bench.realistic --population 20000 --steps 2000`; `--help` for the rest.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event as sql_event
from sqlalchemy import text as sql_text

from adapters import demo
from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import read_bundle
from adapters.settings import Settings
from adapters.sql.database import DURABILITIES, DURABILITY_VARIABLE, durability_from_env
from bench.run import DEFAULT_POSTGRES, LINEAR, commit_floor, postgres_database, sqlite_database
from bench.scale_templates import publish_and_people
from engine.workflow import runner
from engine.workflow.state import dump_state, load_state

GATE = "gate_reception"


@dataclass
class Sample:
    """What one workload measured."""

    steps: list[float] = field(default_factory=list)
    statements: int = 0
    commits: int = 0
    hits: int = 0
    misses: int = 0

    def merge(self, other: Sample) -> None:
        self.steps += other.steps
        self.statements += other.statements
        self.commits += other.commits
        self.hits += other.hits
        self.misses += other.misses


@dataclass
class Population:
    """The active cases a workload steps through, by the id of one of its open tasks."""

    app: Application
    pathway: str
    rng: random.Random
    client_id: int = 0
    open_task: dict[int, Any] = field(default_factory=dict)  # case -> an open task's view

    def start(self) -> int:
        view = self.app.engine.start_case(self.pathway, self.client_id, actor="caseworker")
        case_id = view.case.id or 0
        self.refresh(case_id)
        return case_id

    def refresh(self, case_id: int) -> None:
        """Note one of the case's open tasks; a case with none (ended, or waiting on a timer)
        is replaced by a new one."""
        tasks = self.app.engine.list_tasks(case_id=case_id)
        if tasks:
            self.open_task[case_id] = tasks[self.rng.randrange(len(tasks))]
            return
        self.open_task.pop(case_id, None)
        self.start()


def _fill(app: Application, pathway: str, size: int, seed: int) -> Population:
    rng = random.Random(seed)
    client = app.engine.add_client(f"Bench client {seed}", {"release_date": "2026-06-01"})
    population = Population(app, pathway, rng, client.id or 0)
    for _ in range(size):
        population.start()
    return population


@contextmanager
def counting(app: Application, sample: Sample) -> Iterator[None]:
    """Count the statements and commits sent while inside."""
    def statement(*_: Any) -> None:
        sample.statements += 1

    def commit(*_: Any) -> None:
        sample.commits += 1

    sql_event.listen(app.database, "before_cursor_execute", statement)
    sql_event.listen(app.database, "commit", commit)
    try:
        yield
    finally:
        sql_event.remove(app.database, "before_cursor_execute", statement)
        sql_event.remove(app.database, "commit", commit)


def pathways_steps(population: Population, steps: int) -> Sample:
    """Complete a random active case's open task with plausible answers, `steps` times."""
    app, rng, sample = population.app, population.rng, Sample()
    cache = app.engine.live_cases
    hits, misses = cache.hits, cache.misses
    for _ in range(steps):
        case_id = rng.choice(list(population.open_task))
        task = population.open_task[case_id]
        answers = demo._answers(task.schema, rng)
        with counting(app, sample):
            started = time.perf_counter()
            app.engine.complete_task(task.task.id, answers,
                                     actor=demo._actor_for(task.task.role))
            sample.steps.append(time.perf_counter() - started)
        population.refresh(case_id)
    sample.hits, sample.misses = cache.hits - hits, cache.misses - misses
    return sample


NAIVE_TABLE = "bench_naive_state"


def naive_steps(population: Population, steps: int, *, stored: bool = True) -> Sample:
    """SpiffWorkflow alone on the same cases' first states, spec parsed once and cached.
    `stored`: naive persistence, in the same database and durability as Pathways: each step
    reads the case's JSON, runs, and writes it back with one UPDATE and a COMMIT; otherwise
    the JSON stays in memory (no database at all, what the baseline was before)."""
    app, rng = population.app, population.rng
    engine = app.engine
    with engine.uow() as uow:
        states = {case_id: uow.cases.get(case_id).state  # type: ignore[union-attr]
                  for case_id in population.open_task}
        version = uow.cases.get(next(iter(states)))
        parsed = engine.parsed(uow, version.pathway, version.version)  # type: ignore[union-attr]
    first = {case_id: orjson.dumps(state) for case_id, state in states.items()}
    memory = dict(first)
    with app.database.connect() as connection:
        storage = _NaiveStorage(connection, first) if stored else None
        sample = Sample()
        for _ in range(steps):
            case_id = rng.choice(list(memory))
            started = time.perf_counter()
            text_ = storage.load(case_id) if storage else memory[case_id]
            workflow = load_state(orjson.loads(text_), parsed, engine.script_engine)
            ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
            if not ready:  # a new case in its place, untimed
                if storage:
                    storage.save(case_id, first[case_id])
                memory[case_id] = first[case_id]
                continue
            task = ready[rng.randrange(len(ready))]
            info = parsed.user_tasks.get(task.task_spec.name)
            task.data.update(demo._answers(parsed.form_schema(info.form if info else None), rng))
            runner.run_task(workflow, task)
            dumped = orjson.dumps(dump_state(workflow))
            if storage:
                storage.save(case_id, dumped)
            memory[case_id] = dumped
            sample.steps.append(time.perf_counter() - started)
        if storage:
            storage.drop()
    return sample


class _NaiveStorage:
    """The naive baseline's table: a case's state as JSON text, read and written by id."""

    def __init__(self, connection: Any, states: dict[int, bytes]) -> None:
        self.connection = connection
        connection.execute(sql_text(f"CREATE TABLE {NAIVE_TABLE} (id INTEGER PRIMARY KEY, "
                                    "state TEXT NOT NULL)"))
        connection.execute(sql_text(f"INSERT INTO {NAIVE_TABLE} VALUES (:id, :state)"),
                           [{"id": case_id, "state": state.decode()}
                            for case_id, state in states.items()])
        connection.commit()
        self._select = sql_text(f"SELECT state FROM {NAIVE_TABLE} WHERE id = :id")
        self._update = sql_text(f"UPDATE {NAIVE_TABLE} SET state = :state WHERE id = :id")

    def load(self, case_id: int) -> bytes:
        found: str = self.connection.execute(self._select, {"id": case_id}).scalar_one()
        self.connection.commit()  # a naive reader does not hold its transaction open
        return found.encode()

    def save(self, case_id: int, state: bytes) -> None:
        self.connection.execute(self._update, {"id": case_id, "state": state.decode()})
        self.connection.commit()

    def drop(self) -> None:
        self.connection.execute(sql_text(f"DROP TABLE {NAIVE_TABLE}"))
        self.connection.commit()


@contextmanager
def application(url: str, cache: int) -> Iterator[Application]:
    app = bootstrap(Settings(database_url=url, live_cases=cache))
    try:
        yield app
    finally:
        app.close()


def _prepare(app: Application, pathway: str) -> None:
    if pathway == GATE:
        publish_and_people(app)
    else:
        files, main = read_bundle(LINEAR)
        app.engine.publish(files, main)


def _half(url: str, cache: int, population: int, steps: int, seed: int,
          results: Any) -> None:
    """One of the two processes: its own application and half of the cases."""
    with application(url, cache) as app:
        people = _fill(app, GATE, population, seed)
        results.put(pathways_steps(people, steps))


def two_processes(url: str, cache: int, population: int, steps: int) -> Sample:
    """The gate reception workload in two processes at once on one database."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_half, args=(url, cache, population // 2, steps // 2,
                                                   seed, results)) for seed in (101, 202)]
    for worker in workers:
        worker.start()
    sample = Sample()
    for _ in workers:
        sample.merge(results.get())
    for worker in workers:
        worker.join()
    return sample


def _us(samples: list[float], quantile: float = 0.5) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1e6


def report(label: str, ours: Sample, naive: float, floor: float) -> None:
    count = len(ours.steps) or 1
    looked = ours.hits + ours.misses
    rate = f"{100 * ours.hits / looked:3.0f}%" if looked else "  -"
    median = _us(ours.steps)
    print(f"    {label:<34} {median:8.0f} us  p95 {_us(ours.steps, 0.95):8.0f}  "
          f"ratio {median / naive:5.2f}  cache hits {rate}  "
          f"{ours.statements / count:5.1f} statements, {ours.commits / count:4.2f} commits "
          f"a step  (commit floor {floor:5.0f} us)")


def measure(label: str, database: Callable[[], AbstractContextManager[str]], population: int,
            steps: int, cache: int) -> None:
    print(f"\n== {label}: {population} active cases, live-case cache {cache}, "
          f"{steps} steps a workload ==")
    for pathway in (GATE, "linear10"):
        with database() as url, application(url, cache) as app:
            _prepare(app, pathway)
            people = _fill(app, pathway, population, seed=17)
            ours = pathways_steps(people, steps)
            others = _fill(app, pathway, min(population, 500), seed=18)
            naive = naive_steps(others, steps)
            in_memory = naive_steps(others, steps, stored=False)
            floor = statistics.median(commit_floor(app, 100)) * 1e6
        base = _us(naive.steps)
        print(f"  {pathway}: SpiffWorkflow alone, spec cached, JSON without the spec, "
              f"read and written back with a commit (the baseline) {base:8.0f} us; "
              f"the same kept in memory, no database {_us(in_memory.steps):8.0f} us")
        report(f"Pathways, {pathway}", ours, base, floor)
        if pathway == GATE:
            with database() as url:
                with application(url, cache) as app:
                    _prepare(app, pathway)
                both = two_processes(url, cache, population, steps)
            report("Pathways, two processes", both, base, floor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=4096,
                        help="active cases per workload (more than --cache: most steps miss; "
                             "the two-process run gives each process half, so the default is "
                             "four times the cache)")
    parser.add_argument("--steps", type=int, default=600, help="timed steps per workload")
    parser.add_argument("--cache", type=int, default=1024, help="live cases kept in memory")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'off' to skip")
    parser.add_argument("--sqlite", choices=("on", "off"), default="on")
    parser.add_argument("--durability", choices=DURABILITIES, default=durability_from_env())
    args = parser.parse_args(argv)
    os.environ[DURABILITY_VARIABLE] = args.durability  # every application the bench builds
    print(f"Python {sys.version.split()[0]}; {args.durability} durability; figures in one "
          "run, side by side")
    if args.sqlite == "on":
        measure("SQLite (file, WAL)", sqlite_database, args.population, args.steps, args.cache)
    if args.postgres != "off":
        measure("PostgreSQL", lambda: postgres_database(args.postgres), args.population,
                args.steps, args.cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
