"""`pathways serve`: gunicorn as a real subprocess on a free port, on SQLite and PostgreSQL.

The production server answers pages and /health, stops cleanly on SIGTERM (exit 0, its
workers gone), and signs cookies with one key kept beside the database (or where
PATHWAYS_SECRET_KEY_FILE says): a browser signed in stays signed in when the server restarts
and when a worker process it never spoke to answers. `--dev` still runs Flask's server.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.bootstrap import bootstrap
from adapters.definition_files import read_bundle
from adapters.settings import Settings
from tests.e2e.test_cli import Cli, _free_port
from tests.web.conftest import CHEAP_HASHER, PASSWORD
from tests.web.test_pages import DEFINITIONS, NEEDS_ASSESSMENT

# How long a loaded 2-core CI machine may take to import and start the server: a wait for
# readiness, not a measure of speed (that is bench/load.py's).
START_TIMEOUT = 120
STOP_TIMEOUT = 60
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 302 comes back as an HTTPError with its Location


class Browser:
    """Cookies kept between requests; redirects not followed (where they go is checked)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect())

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location header, body)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                return response.status, "", response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Location", ""), err.read().decode("utf-8")

    def sign_in(self, username: str) -> None:
        _, _, page = self.open("/login")
        found = _CSRF.search(page)
        assert found, page
        status, location, body = self.open("/login", {
            "username": username, "password": PASSWORD, "csrf_token": found.group(1)})
        assert status == 302 and "/login" not in location, (status, location, body)

    def signed_in(self) -> bool:
        """Whether the inbox opens (a signed-out browser is sent to /login)."""
        status, location, body = self.open("/inbox")
        assert status in (200, 302), (status, body)
        return status == 200 and "/login" not in location


def _wait_until_healthy(process: subprocess.Popen[str], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)


def _wait_for_children(pid: int, wanted: int, timeout: float = 30.0) -> set[int]:
    """The master's workers once `wanted` of them run: the first to boot may answer the
    health check before the master has forked the next one (seen on a loaded machine)."""
    deadline = time.monotonic() + timeout
    found = _children(pid)
    while len(found) < wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        found = _children(pid)
    return found


def _children(pid: int) -> set[int]:
    """The processes whose parent is pid (gunicorn's workers of a master)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@contextmanager
def serving(cli: Cli, tmp_path: Path, *options: str, port: int | None = None,
            name: str = "serve", key_file: bool = True
            ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`pathways serve OPTIONS` until healthy; SIGTERM at the end, which must stop it
    cleanly (exit 0) and leave none of its workers behind. key_file False: the secret key
    where `make run` keeps it, no setting naming it (beside a SQLite file, else in the state
    folder, here tmp_path/state)."""
    port = port or _free_port()
    log_path = tmp_path / f"{name}.log"
    env = {"PATHWAYS_SECRET_KEY_FILE": str(tmp_path / "secret-key")} if key_file else {
        "PATHWAYS_SECRET_KEY_FILE": "", "PATHWAYS_SECRET_KEY": "",
        "XDG_STATE_HOME": str(tmp_path / "state")}
    with log_path.open("w", encoding="utf-8") as log:
        process = cli.spawn(cli.argv(["serve", "--port", str(port), *options]), env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_until_healthy(process, port, log_path)
            yield process, port
            workers = _children(process.pid)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=STOP_TIMEOUT) == 0, log_path.read_text(
                encoding="utf-8")
            assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _add_caseworker(database_url: str) -> None:
    application = bootstrap(Settings(database_url=database_url), hasher=CHEAP_HASHER)
    try:
        application.accounts.add_organisation("sg", "St Giles Trust")
        application.accounts.add_user("amy", "Amy", "sg", "caseworker", PASSWORD)
    finally:
        application.close()


def test_serve_runs_gunicorn_and_stops_cleanly_on_sigterm(cli: Cli, tmp_path: Path) -> None:
    with serving(cli, tmp_path, "--workers", "2", "--threads", "2") as (process, port):
        status, _, page = Browser(port).open("/login")
        assert status == 200 and "csrf_token" in page
        assert len(_wait_for_children(process.pid, 2)) == 2
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "Starting gunicorn" in log and "2 worker(s) x 2 thread(s)" in log, log
    assert "Traceback" not in log, log


def test_a_session_survives_a_restart_and_reaches_every_worker(cli: Cli,
                                                               tmp_path: Path) -> None:
    assert cli.database_url is not None
    _add_caseworker(cli.database_url)
    port = _free_port()
    with serving(cli, tmp_path, "--workers", "2", port=port, name="first") as (process, _):
        browser = Browser(port)
        browser.sign_in("amy")
        assert browser.signed_in()
        # Every worker that saw the sign-in stops; the master starts new ones, which never
        # saw it: the cookie holds for them too.
        before = _children(process.pid)
        for pid in before:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + START_TIMEOUT
        while len(_children(process.pid) - before) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        _wait_until_healthy(process, port, tmp_path / "first.log")
        assert all(browser.signed_in() for _ in range(6))
    key = (tmp_path / "secret-key").read_text(encoding="utf-8")
    assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600
    with serving(cli, tmp_path, port=port, name="second"):
        assert browser.signed_in()  # the same cookie, after a restart
    assert (tmp_path / "secret-key").read_text(encoding="utf-8") == key


def _open_task(database_url: str) -> str:
    """An admin (ada) and a client with gate_reception's first task open: its id."""
    application = bootstrap(Settings(database_url=database_url), hasher=CHEAP_HASHER)
    try:
        application.engine.publish(*read_bundle(DEFINITIONS / "gate_reception.yaml"),
                                   note="as shipped", author="tests")
        application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
        application.accounts.add_user("ada", "Ada", "st_giles_trust", "admin", PASSWORD)
        client = application.engine.add_client("Aaron", {"release_date": "2030-01-01"})
        view = application.engine.start_case("gate_reception", client.id or 0, actor="ada")
        return view.tasks[0].task.id
    finally:
        application.close()


def test_a_form_opened_before_a_restart_is_accepted_after_it(cli: Cli, tmp_path: Path
                                                             ) -> None:
    """make run's case: no key configured. A task form opened, the server restarted on the
    same database, the form sent: it is accepted (the key was kept), nothing typed lost."""
    assert cli.database_url is not None
    task = _open_task(cli.database_url)
    port = _free_port()
    browser = Browser(port)
    with serving(cli, tmp_path, port=port, name="before", key_file=False):
        browser.sign_in("ada")
        status, _, form = browser.open(f"/tasks/{task}")
        assert status == 200, form
    token, case = _CSRF.search(form), re.search(r'name="case" value="(\d+)"', form)
    assert token and case
    with serving(cli, tmp_path, port=port, name="after", key_file=False):
        status, location, body = browser.open(f"/tasks/{task}", {
            **NEEDS_ASSESSMENT, "csrf_token": token.group(1), "case": case.group(1),
            "action": "complete"})
        assert status == 302 and "/login" not in location, (status, location, body)
        status, _, body = browser.open(f"/tasks/{task}", {  # sent twice: told, kept
            **NEEDS_ASSESSMENT, "csrf_token": token.group(1), "case": case.group(1),
            "action": "complete"})
        assert status == 409 and "You completed this task" in body, (status, body)
        assert NEEDS_ASSESSMENT["notes"] in body


def test_the_development_server_still_runs_with_dev(cli: Cli, tmp_path: Path) -> None:
    with serving(cli, tmp_path, "--dev") as (process, port):
        status, _, page = Browser(port).open("/login")
        assert status == 200 and "csrf_token" in page
        assert not _children(process.pid)  # one process: Flask's server
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "development server" in log and "gunicorn" not in log, log
    refused = cli.error("serve", "--dev", "--workers", "2", code="invalid_argument")
    assert "--dev" in refused["message"]
