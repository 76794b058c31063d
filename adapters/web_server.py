"""The production web server: gunicorn, embedded (gunicorn.app.base.BaseApplication).

A master process binds the address and keeps `workers` processes running, each serving with
`threads` threads (gunicorn's gthread worker, which keeps HTTP connections alive between
requests). Each worker builds its own app with `factory` after it is forked, so no database
connection is ever shared between processes. A worker silent for `timeout` seconds (a stuck
request) is killed and replaced.

SIGTERM and SIGINT (Ctrl-C) both stop gracefully: the master stops accepting connections and
the workers finish the requests they have (up to GRACEFUL_TIMEOUT seconds) before exiting.
Ctrl-C in a terminal reaches every process of the group; the workers take their SIGINT as
gunicorn's graceful SIGTERM rather than its quick exit.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

GRACEFUL_TIMEOUT = 30  # seconds the requests in flight get to finish at a stop
KEEPALIVE = 5  # seconds an idle kept-alive connection stays open


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    workers: int
    threads: int
    timeout: int

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def gunicorn_settings(self) -> dict[str, Any]:
        return {
            "bind": [self.bind],
            "workers": self.workers,
            "threads": self.threads,
            "worker_class": "gthread",
            "timeout": self.timeout,
            "graceful_timeout": GRACEFUL_TIMEOUT,
            "keepalive": KEEPALIVE,
            "proc_name": "pathways",
            "errorlog": "-",  # stderr; no access log (one line per request costs CPU)
            "loglevel": "info",
            "post_worker_init": _graceful_on_sigint,
            # gunicorn 25+: no control socket (its default path would be shared by every
            # server on the machine; Pathways is managed by signals)
            "control_socket_disable": True,
        }


def _graceful_on_sigint(worker: Any) -> None:
    """In a worker, SIGINT (Ctrl-C reaches the whole process group) finishes the requests
    in flight, as SIGTERM does, instead of exiting at once."""
    signal.signal(signal.SIGINT, worker.handle_exit)


class _GracefulArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, with SIGINT stopping gracefully as SIGTERM does."""

    def handle_int(self) -> None:
        self.handle_term()


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Callable[[], Any], options: ServerOptions) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.gunicorn_settings().items():
            if key in self.cfg.settings:  # a setting this gunicorn has
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()

    def run(self) -> None:
        _GracefulArbiter(self).run()


def serve(factory: Callable[[], Any], options: ServerOptions) -> None:
    """Serve the WSGI app `factory` builds (once in each worker) until stopped."""
    _Server(factory, options).run()
