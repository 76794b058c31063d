"""Task completions per second through the JSON API, under `pathways serve` (gunicorn).

For each database (a fresh PostgreSQL database, and a fresh SQLite file) and each number of
worker processes: the 10-step pathway bench/data/linear10.bpmn is published, a caseworker
with an API token is made, and one client and one case per ten completions are started through
the engine; then `pathways serve` starts on a free port, and a bounded load generator
completes tasks with `POST /api/v1/tasks/<id>/complete`: a fixed number of threads, each with
one kept-alive HTTP connection, completes a fixed number of tasks in all (each response's
next_task is the case's next step, queued for any thread). The first --warmup completions are
not measured. It prints completions per second, the p50/p95 latency of a completion, the
server's CPU per completion (master and workers, from /proc: a figure that is less disturbed
by others using the machine than the rate is), and the load average before the run.

The load generator runs on the same machine as the server and takes CPU from it; its threads
spend it mostly waiting.

`--profile N` instead completes N tasks in-process (Flask's test client, no HTTP server)
under cProfile and prints where the time of one completion request goes.

Run: `python -m bench.load` (`--help` for the options).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import json
import os
import pstats
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event as sql_event

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import read_bundle
from adapters.settings import Settings
from bench.dashboard import counting
from bench.run import DEFAULT_POSTGRES, LINEAR, postgres_database

STEPS = 10  # tasks per case of linear10
PASSWORD = "load-bench-password"  # noqa: S105  (a throwaway user of a throwaway database)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Prepared:
    token: str
    tasks: list[str]


def prepare(url: str, completions: int) -> Prepared:
    """linear10 published, a caseworker with a token, and enough cases for `completions`."""
    application = bootstrap(Settings(database_url=url))
    try:
        engine, accounts = application.engine, application.accounts
        files, main = read_bundle(LINEAR)
        engine.publish(files, main)
        accounts.add_organisation("load", "Load test")
        user = accounts.add_user("loader", "Load tester", "load", "caseworker", PASSWORD)
        token = accounts.issue_token("loader", "bench")[1]
        tasks = []
        for number in range(-(-completions // STEPS)):
            client = application.casework.add_client(user, f"Client {number}", {})
            view = engine.start_case("linear10", client.id or 0, actor="loader")
            tasks.append(view.tasks[0].task.id)
        return Prepared(token, tasks)
    finally:
        application.close()


# -- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(url: str, workers: int, threads: int, log: Path) -> Iterator[tuple[int, int]]:
    """`pathways serve` on a free port until the block ends: (port, pid of the master)."""
    port = _free_port()
    argv = [sys.executable, "-m", "adapters.cli", "--db", url, "serve", "--port", str(port),
            "--workers", str(workers), "--threads", str(threads)]
    with log.open("w", encoding="utf-8") as output:
        env = {**os.environ, "PATHWAYS_SECRET_KEY_FILE": str(log.with_suffix(".key"))}
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT,  # noqa: S603
                                   env=env)
        try:
            _wait_until_healthy(process, port, log)
            yield port, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text(encoding='utf-8')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                        timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)


def process_cpu_seconds(master: int) -> float:
    """User + system CPU of the master and its children (the workers), from /proc."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid, parent = int(entry.name), int(fields[1])
        if pid == master or parent == master:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


# -- the load -----------------------------------------------------------------------------


@dataclass
class Load:
    port: int
    token: str
    work: queue.Queue[str]
    total: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)

    def take(self) -> str | None:
        """The next task to complete, or None once `total` completions were started."""
        with self.lock:
            if self.issued >= self.total:
                return None
            self.issued += 1
        return self.work.get(timeout=60)

    def run(self, concurrency: int) -> float:
        """Complete `total` tasks with `concurrency` threads; the seconds it took."""
        threads = [threading.Thread(target=self._thread, daemon=True)
                   for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    def _thread(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}",
                   "Content-Type": "application/json"}
        body = b'{"data": {}}'
        while (task := self.take()) is not None:
            started = time.perf_counter()
            connection.request("POST", f"/api/v1/tasks/{task}/complete", body, headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            with self.lock:
                if response.status == 200:
                    self.latencies.append(elapsed)
                else:
                    self.failures[response.status] = self.failures.get(response.status, 0) + 1
            following = json.loads(payload).get("next_task") if response.status == 200 \
                else None
            if following:
                self.work.put(following["id"])
        connection.close()


@dataclass(frozen=True)
class Figures:
    label: str
    workers: int
    completions: int
    seconds: float
    p50_ms: float
    p95_ms: float
    cpu_ms: float
    failures: dict[int, int]

    @property
    def rate(self) -> float:
        return self.completions / self.seconds

    def line(self) -> str:
        failed = ", ".join(f"{n} x HTTP {s}" for s, n in sorted(self.failures.items()))
        return (f"{self.label:<10} {self.workers:>7} {self.rate:>14.0f} {self.p50_ms:>8.1f} "
                f"{self.p95_ms:>8.1f} {self.cpu_ms:>13.2f}"
                + (f"   failed: {failed}" if failed else ""))


def measure(label: str, url: str, workers: int, args: argparse.Namespace,
            folder: Path) -> Figures:
    prepared = prepare(url, (args.warmup + args.completions) * 11 // 10)
    work: queue.Queue[str] = queue.Queue()
    for task in prepared.tasks:
        work.put(task)
    log = folder / f"serve-{label.lower()}-{workers}.log"
    with server(url, workers, args.threads, log) as (port, master):
        Load(port, prepared.token, work, args.warmup).run(args.concurrency)
        load = Load(port, prepared.token, work, args.completions)
        cpu = process_cpu_seconds(master)
        seconds = load.run(args.concurrency)
        cpu = process_cpu_seconds(master) - cpu
    done = len(load.latencies)
    cuts = statistics.quantiles(load.latencies, n=100) if done > 1 else [0.0] * 99
    return Figures(label, workers, done, seconds, cuts[49] * 1000, cuts[94] * 1000,
                   cpu * 1000 / max(done, 1), load.failures)


@contextlib.contextmanager
def sqlite_database(folder: Path, name: str) -> Iterator[str]:
    yield f"sqlite:///{folder / name}.sqlite"


@contextlib.contextmanager
def transactions(app: Application) -> Iterator[list[int]]:
    """The number of transactions begun inside the block (found[0])."""
    found = [0]

    def note(*_args: Any) -> None:
        found[0] += 1

    sql_event.listen(app.database, "begin", note)
    try:
        yield found
    finally:
        sql_event.remove(app.database, "begin", note)


def profile(url: str, completions: int) -> None:
    """Where one completion request's time goes, in-process (no HTTP server)."""
    from web import create_app

    prepared = prepare(url, completions)
    application = bootstrap(Settings(database_url=url))
    client = create_app(application).test_client()
    headers = {"Authorization": f"Bearer {prepared.token}"}
    pending = list(prepared.tasks)
    client.post(f"/api/v1/tasks/{pending.pop()}/complete", json={"data": {}}, headers=headers)
    profiler = cProfile.Profile()
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    with counting(application) as statements, transactions(application) as begun:
        profiler.enable()
        while pending and done < completions:
            response = client.post(f"/api/v1/tasks/{pending.pop()}/complete",
                                   json={"data": {}}, headers=headers)
            done += 1
            following = (response.json or {}).get("next_task")
            if following:
                pending.append(following["id"])
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    application.close()
    print(f"{done} completions in-process (profiled): {seconds * 1000 / done:.2f} ms each, "
          f"{cpu * 1000 / done:.2f} ms of this process's CPU; {statements[0] / done:.1f} SQL "
          f"statements and {begun[0] / done:.1f} transactions each")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="server URL (a fresh database is made on it); 'off' to skip")
    parser.add_argument("--sqlite", choices=("on", "off"), default="on")
    parser.add_argument("--workers", default="1,2,4", help="worker processes to try")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="requests in flight (load generator threads)")
    parser.add_argument("--completions", type=int, default=3000, help="measured, per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured, per run")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N completions in-process on PostgreSQL instead")
    args = parser.parse_args(argv)
    if args.profile:
        with postgres_database(args.postgres) as url:
            profile(url, args.profile)
        return 0
    workers = [int(part) for part in args.workers.split(",")]
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start; "
          f"{args.concurrency} requests in flight, {args.threads} threads per worker, "
          f"{args.completions} completions measured per run after {args.warmup}")
    print(f"{'database':<10} {'workers':>7} {'completions/s':>14} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'server CPU ms':>13}")
    with tempfile.TemporaryDirectory(prefix="pathways-load-") as name:
        folder = Path(name)
        for count in workers:
            if args.postgres != "off":
                with postgres_database(args.postgres) as url:
                    print(measure("PostgreSQL", url, count, args, folder).line(), flush=True)
            if args.sqlite == "on":
                with sqlite_database(folder, f"load-{count}") as url:
                    print(measure("SQLite", url, count, args, folder).line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
