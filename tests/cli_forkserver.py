"""Runs `pathways` commands for the end-to-end tests in processes forked from one that has
already imported the command line, so a call does not pay Python's start and ~0.5 s of imports.

Each call is still a process of its own, with its own arguments, environment, working
directory, standard streams and exit code, running `adapters.cli.main` as the `pathways`
script does; only the interpreter's start and the imports are shared. The server imports
modules and runs nothing, so no cache, engine or connection is inherited, and it leaves out
what reads the environment when imported (prometheus_client, the web app). What a fresh
process does before its first command (which modules `--help` loads, how long a start takes)
is tested in real processes (tests/unit/test_cli_start.py, tests/unit/test_lazy_surfaces.py),
as are the long-running commands the tests signal (`serve`, `worker`: `Cli.spawn`).

PATHWAYS_TEST_CLI_FORK=0 runs every call as a new `python -m adapters.cli` process instead.

Protocol, over a Unix socket: the client sends one JSON line {argv, env, cwd} with three file
descriptors (stdin, stdout, stderr); the server forks, answers {"pid": N}, and once the child
has exited {"returncode": N} (negative: the signal that ended it, as subprocess reports it).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import pkgutil
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENABLED_VARIABLE = "PATHWAYS_TEST_CLI_FORK"
# Packages the commands load (some only lazily, inside a command); everything of ours but
# what reads the environment at import (metrics: PROMETHEUS_MULTIPROC_DIR) or is the web app.
PRELOAD_PACKAGES = ("engine", "dsl", "adapters")
PRELOAD_LIBRARIES = ("sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
                     "psycopg", "yaml", "jsonschema", "SpiffWorkflow.bpmn", "alembic.command",
                     "alembic.runtime.migration")
SKIPPED_PREFIXES = ("adapters.metrics", "adapters.sql.migrations", "adapters.cli.serve",
                    "adapters.web_server", "adapters.wsgi", "web")
ENVIRONMENT_READ_AT_IMPORT = ("prometheus_client", "flask", "gunicorn")
MESSAGE_LIMIT = 1 << 20


def enabled() -> bool:
    return os.environ.get(ENABLED_VARIABLE, "1").strip() not in ("0", "false", "no")


# -- the server ----------------------------------------------------------------------------

def preload() -> None:
    """Import what a command would, without running anything."""
    for package in PRELOAD_PACKAGES:
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not (module.name.startswith(SKIPPED_PREFIXES)
                    or module.name.endswith(".__main__")):
                importlib.import_module(module.name)
    for library in PRELOAD_LIBRARIES:
        importlib.import_module(library)
    leaked = [name for name in ENVIRONMENT_READ_AT_IMPORT if name in sys.modules]
    if leaked:
        raise RuntimeError(f"preloading imported {leaked}, which must be imported by each "
                           "command (they read the environment when imported)")


def _exit_status(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def run_command(request: dict[str, Any], streams: list[int]) -> None:
    """In the forked child: become the command's process, run it, and never return."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = os.getcwd()  # as `python -m` started in cwd would have it
        sys.argv = ["pathways", *request["argv"]]
        from adapters.cli import main

        try:
            main()
            code = 0
        except SystemExit as done:
            if done.code is None:
                code = 0
            elif isinstance(done.code, int):
                code = done.code
            else:
                print(done.code, file=sys.stderr)
                code = 1
        atexit._run_exitfuncs()
    except BaseException:  # reported as the interpreter would, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed stream: nothing more to say
                stream.flush()
        os._exit(code)


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    message, fds, _flags, _address = socket.recv_fds(connection, MESSAGE_LIMIT, 3)
    return json.loads(message.decode()), list(fds)


def _let_go(selector: selectors.BaseSelector, *sockets: socket.socket) -> None:
    """In a new child: close what the server holds (its socket, the other calls' process
    handles and connections), so a call's client sees the end of its call only."""
    for key in list(selector.get_map().values()):
        if isinstance(key.data, tuple):
            os.close(key.fd)
            key.data[1].close()
    selector.close()
    for held in sockets:
        held.close()


def serve(path: str) -> None:
    """Accept calls until stdin closes (the test session ended)."""
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "stop")
    print("ready", flush=True)
    while True:
        for key, _events in selector.select():
            if key.data == "stop":
                return
            if key.data == "accept":
                connection, _ = listener.accept()
                request, streams = _receive(connection)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _let_go(selector, listener, connection)
                    run_command(request, streams)
                for fd in streams:
                    os.close(fd)
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                pidfd = os.pidfd_open(pid)
                selector.register(pidfd, selectors.EVENT_READ, (pid, connection))
                continue
            pid, connection = key.data
            selector.unregister(key.fileobj)
            os.close(key.fd)
            _, status = os.waitpid(pid, 0)
            with contextlib.suppress(OSError):  # the client gave up (its timeout)
                connection.sendall(
                    json.dumps({"returncode": _exit_status(status)}).encode() + b"\n")
            connection.close()


# -- the client ----------------------------------------------------------------------------

@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def _input(folder: str, text: str | None) -> Any:
    """The call's standard input: /dev/null, or a file holding `text` read from its start."""
    if text is None:
        return open(os.devnull, "rb")
    given = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - the caller's with closes it
    given.write(text.encode("utf-8"))
    given.seek(0)
    return given


class Call:
    """One command running in a forked process: wait() for its exit code and output."""

    def __init__(self, server: ForkServer, argv: list[str], cwd: Path, env: dict[str, str],
                 stdin: str | None = None) -> None:
        self.argv = argv
        self.outputs = [tempfile.TemporaryFile(dir=server.folder)  # noqa: SIM115 - closed by wait
                        for _ in range(2)]
        self.connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.connection.connect(server.path)
        request = json.dumps({"argv": argv, "cwd": str(cwd), "env": env}).encode()
        with _input(server.folder, stdin) as given:
            socket.send_fds(self.connection, [request],
                            [given.fileno(), *(out.fileno() for out in self.outputs)])
        self.reader = self.connection.makefile("rb")
        self.pid = int(json.loads(self.reader.readline())["pid"])

    def wait(self, timeout: float) -> Finished:
        self.connection.settimeout(timeout)
        with contextlib.ExitStack() as held:
            for output in self.outputs:
                held.enter_context(output)
            try:
                line = self.reader.readline()
            except TimeoutError:
                os.kill(self.pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["pathways", *self.argv], timeout) from None
            finally:
                self.reader.close()
                self.connection.close()
            if not line:
                raise RuntimeError(f"the CLI fork server stopped while running {self.argv}")
            stdout, stderr = (self._read(output) for output in self.outputs)
            return Finished(int(json.loads(line)["returncode"]), stdout, stderr)

    @staticmethod
    def _read(output: Any) -> str:
        """As subprocess's text mode reads a pipe: UTF-8 and universal newlines."""
        output.seek(0)
        with io.TextIOWrapper(output, encoding="utf-8") as text:  # closes output too
            return text.read()


class ForkServer:
    """The server process, started once per test session (per xdist worker)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.folder = tempfile.mkdtemp(prefix="pathways-cli-fork-")
        self.path = os.path.join(self.folder, "socket")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.cli_forkserver import serve; "
             "serve(sys.argv[1])", self.path],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        started = time.monotonic()
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"the CLI fork server did not start (it said {ready!r} after "
                               f"{time.monotonic() - started:.1f} s)")

    def start(self, argv: list[str], cwd: Path, env: dict[str, str], *,
              stdin: str | None = None) -> Call:
        """Run `pathways ARGV` in cwd with exactly env; `stdin`: what it reads on its standard
        input (None: nothing, /dev/null)."""
        return Call(self, argv, cwd, env, stdin)

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.stdout.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder)


_shared: ForkServer | None = None


def shared(env: dict[str, str]) -> ForkServer:
    """This test process's server, started by its first call (in the environment of that
    call's tests: base_env); it stops when the test process exits."""
    global _shared
    if _shared is None or _shared.process.poll() is not None:
        _shared = ForkServer(env)
        atexit.register(_shared.close)
    return _shared
