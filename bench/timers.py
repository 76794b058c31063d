"""Benchmark (issue 19, item 3): a worker firing a batch of due timers, one commit a case
against one commit a batch (group commit, engine.workflow.group_commit), side by side.

Each round starts `--cases` cases of a pathway that waits a day on a timer
(bench/data/timer_wait.bpmn) on a fresh database, then lets one worker fire them all a day
later, timed: once with batches of one case (what the worker did before group commit) and
once with the worker's batches (engine.cases.case_commands.TIMER_BATCH_CASES). It prints
per timer the median of `--rounds` rounds, the commits per timer, and the commit floor (one
UPDATE and COMMIT) in the run's durability, on SQLite and PostgreSQL. The durable default is
where group commit pays: each commit there waits for the disk.

Run: `python -m bench.timers` (`--help` for the rest).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path

from adapters.definition_files import read_bundle
from adapters.sql.database import DURABILITIES, DURABILITY_VARIABLE, durability_from_env
from bench.realistic import Sample, application, counting
from bench.run import DEFAULT_POSTGRES, commit_floor, postgres_database, sqlite_database
from engine.cases import case_commands

TIMED = Path(__file__).parent / "data" / "timer_wait.bpmn"


@contextmanager
def batches_of(size: int) -> Iterator[None]:
    kept = case_commands.TIMER_BATCH_CASES
    case_commands.TIMER_BATCH_CASES = size
    try:
        yield
    finally:
        case_commands.TIMER_BATCH_CASES = kept


def fire_round(url: str, cases: int, batch: int) -> tuple[float, Sample]:
    """Seconds per timer fired, and what was sent, for one worker firing `cases` timers."""
    with application(url, 1024) as app:
        files, main = read_bundle(TIMED)
        app.engine.publish(files, main)
        client = app.engine.add_client("Bench client", {})
        for _ in range(cases):
            app.engine.start_case("timer_wait", client.id or 0)
        later = app.engine.clock.now() + timedelta(days=2)
        sample = Sample()
        with batches_of(batch), counting(app, sample):
            started = time.perf_counter()
            fired = app.engine.fire_due_timers(later)
            seconds = time.perf_counter() - started
        if fired != cases:
            raise SystemExit(f"fired {fired} timers of {cases}")
        return seconds / cases, sample


def measure(label: str, database: Callable[[], AbstractContextManager[str]], cases: int,
            rounds: int) -> None:
    print(f"\n== {label}: one worker fires {cases} due timers, median of {rounds} rounds ==")
    results: dict[int, list[tuple[float, Sample]]] = {1: [], case_commands.TIMER_BATCH_CASES: []}
    for _ in range(rounds):
        for batch in results:  # side by side, in turn
            with database() as url:
                results[batch].append(fire_round(url, cases, batch))
    with database() as url, application(url, 1024) as app:
        floor = statistics.median(commit_floor(app, 100)) * 1e6
    one = statistics.median(seconds for seconds, _ in results[1])
    for batch, runs in results.items():
        per_timer = statistics.median(seconds for seconds, _ in runs)
        commits = statistics.median(sample.commits for _, sample in runs) / cases
        statements = statistics.median(sample.statements for _, sample in runs) / cases
        name = "one case a commit (before)" if batch == 1 else f"batches of {batch} (now)"
        print(f"    {name:<28} {per_timer * 1e6:8.0f} us a timer  ratio {per_timer / one:5.2f}  "
              f"{commits:4.2f} commits, {statements:5.1f} statements a timer  "
              f"(commit floor {floor:5.0f} us)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=320, help="due timers a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'off' to skip")
    parser.add_argument("--sqlite", choices=("on", "off"), default="on")
    parser.add_argument("--durability", choices=DURABILITIES, default=durability_from_env())
    args = parser.parse_args(argv)
    os.environ[DURABILITY_VARIABLE] = args.durability
    print(f"Python {sys.version.split()[0]}; {args.durability} durability; figures in one "
          "run, side by side")
    if args.sqlite == "on":
        measure("SQLite (file, WAL)", sqlite_database, args.cases, args.rounds)
    if args.postgres != "off":
        measure("PostgreSQL", lambda: postgres_database(args.postgres), args.cases, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
