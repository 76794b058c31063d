"""Prometheus metrics (prometheus_client), served at /metrics (web.observability).

Counted as they happen: the engine's commands by kind and outcome with their latency, each
case step (one transaction of CaseRuntime.command) with its latency, and HTTP requests by
endpoint, method and status with their latency. Read at each scrape with one statement
(Engine.due_timers): the active cases with a timer due and not yet fired, and the workers'
lag (how long the earliest of those timers has been due). Every label comes from a bounded
set (a command's name, an error code, a route's endpoint name, a status): no client, user or
case is ever a label.

Several processes (gunicorn's workers) each count their own: with PROMETHEUS_MULTIPROC_DIR
set in the environment before the process starts, prometheus_client keeps the counts in
files there and a scrape of any process adds up every process's (the directory must exist
and be emptied before the server starts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from adapters import logs
from adapters.metrics_dir import MULTIPROCESS_VARIABLE as MULTIPROCESS_VARIABLE
from adapters.metrics_dir import check_multiprocess_dir as check_multiprocess_dir
from adapters.metrics_dir import multiprocess_dir as multiprocess_dir

log = logging.getLogger("pathways.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
# from a millisecond (a step on a warm case) to ten seconds (a migration's batch)
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

COMMANDS = Counter("pathways_commands", "Engine commands run, by kind and outcome (ok, an "
                   "error code, or error).", ["kind", "outcome"])
COMMAND_SECONDS = Histogram("pathways_command_seconds", "How long engine commands took, by "
                            "kind.", ["kind"], buckets=SECONDS)
STEP_SECONDS = Histogram("pathways_step_seconds", "How long each case step took (one "
                         "transaction: load, act, persist, commit), by outcome.", ["outcome"],
                         buckets=SECONDS)
HTTP_REQUESTS = Counter("pathways_http_requests", "HTTP requests answered, by endpoint, "
                        "method and status.", ["endpoint", "method", "status"])
HTTP_SECONDS = Histogram("pathways_http_request_seconds", "How long HTTP requests took, by "
                         "endpoint.", ["endpoint"], buckets=SECONDS)


class EngineMetrics:
    """The engine's Observer: counts commands and steps, and notes the case a step ran on
    in the log context (adapters.logs) of the request or command that ran it."""

    def command_done(self, kind: str, outcome: str, seconds: float) -> None:
        COMMANDS.labels(kind, outcome).inc()
        COMMAND_SECONDS.labels(kind).observe(seconds)

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None:
        STEP_SECONDS.labels(outcome).observe(seconds)
        logs.note_case(case_id)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("step %s", outcome, extra={"fields": {
                "case": case_id, "outcome": outcome, "duration_ms": round(seconds * 1000, 2)}})


def request_done(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """An HTTP request answered; endpoint None (no route matched) counts as "unmatched"."""
    name = endpoint or "unmatched"
    try:
        HTTP_REQUESTS.labels(name, method if method in HTTP_METHODS else "other",
                             str(status)).inc()
        HTTP_SECONDS.labels(name).observe(seconds)
    except OSError:  # the multiprocess directory went away: the answer still goes out
        log.warning("metrics: a request could not be counted", exc_info=True)


class BacklogCollector(Collector):
    """The worker's backlog, read when scraped; pathways_backlog_up is 0 (and the backlog
    figures absent) while the database cannot be read."""

    def __init__(self, read: Callable[[], tuple[int, datetime | None]],
                 now: Callable[[], datetime]) -> None:
        self._read, self._now = read, now

    def collect(self) -> Iterator[Metric]:
        try:
            due, oldest = self._read()
        except SQLAlchemyError as err:
            log.warning("metrics: the backlog cannot be read (%s)", type(err).__name__)
            yield GaugeMetricFamily("pathways_backlog_up", "1 when the backlog could be "
                                    "read from the database, else 0.", value=0)
            return
        yield GaugeMetricFamily("pathways_backlog_up", "1 when the backlog could be read "
                                "from the database, else 0.", value=1)
        yield GaugeMetricFamily("pathways_due_timers", "Active cases with a timer due now or "
                                "earlier and not yet fired.", value=due)
        lag = 0.0 if oldest is None else max(0.0, (self._now() - oldest).total_seconds())
        yield GaugeMetricFamily("pathways_worker_lag_seconds", "How long the earliest due "
                                "timer not yet fired has been due (0: none).", value=lag)


def exposition(backlog: Callable[[], tuple[int, datetime | None]],
               now: Callable[[], datetime]) -> bytes:
    """Every metric in Prometheus' text format: this process's (or, in multiprocess mode,
    every process's) counts, then the backlog read now (Engine.due_timers: how many cases
    have a timer due, and the earliest due time)."""
    if multiprocess_dir() is not None:
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    backlog_now = CollectorRegistry(auto_describe=False)
    backlog_now.register(BacklogCollector(backlog, now))
    return generate_latest(counted) + generate_latest(backlog_now)


def serve_worker_metrics(port: int | None, address: str) -> None:
    """`pathways worker` has no web app: with a port, its counts (commands, steps) are
    served at http://ADDRESS:PORT/metrics from a thread, for the life of the process."""
    if port is not None:
        start_http_server(port, addr=address)
        log.info("worker metrics on http://%s:%s/metrics", address, port)
