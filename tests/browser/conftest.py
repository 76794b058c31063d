"""Fixtures of the browser tests: Playwright driving Debian's headless Chromium at a live app.

- `browser` (session): /usr/bin/chromium from Debian's package, launched once. Playwright
  never downloads a browser here (`playwright install` is not used). If Chromium is missing
  the browser tests fail, never skip: `.ci/run` installs it (`apt-get install chromium
  chromium-driver`).
- `live_app`: the real Flask app, served by werkzeug on 127.0.0.1 (a free port) in a thread,
  on a fresh SQLite database of the test's own. Its `application` (the wired Application:
  `application.engine`, `application.database`) lets a test seed data before it navigates.
  An exception raised by the app while serving fails the test, with its traceback.
- `page`: a new browser context and page per test, with `base_url` set to the live app (so
  `page.goto("/health")` works) and a 10 s default timeout.
- `snap(page, name)`: a screenshot at a point the test chooses. A failed test also gets one of
  every page it had open. Both land in test-artifacts/screenshots/ (emptied when a session
  starts its first browser test), named after the test.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, got_request_exception
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, make_server

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    LiveApp,
    Snap,
    file_stem,
)
from tests.conftest import SCREENSHOTS
from web import create_app
from web.security import limiter

# -- screenshots ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config) -> Path:
    """test-artifacts/screenshots/, emptied once per run (by tests/conftest.py's
    pytest_configure, in the controller: xdist workers share the folder)."""
    folder = pytestconfig.rootpath / SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _take(page: Page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def snap(request: pytest.FixtureRequest, screenshot_dir: Path) -> Snap:
    """snap(page, "after-login") saves <test>.after-login.png and returns its path."""
    stem = file_stem(request.node.nodeid)

    def take(page: Page, name: str) -> Path:
        return _take(page, screenshot_dir / f"{stem}.{file_stem(name)}.png")

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure in setup or the test itself, screenshot every page the test had open.

    Runs before fixtures are torn down, so the pages are still there. The report names the
    files, along with the pages' console errors and the server's own exceptions.
    """
    report = yield
    if report.when == "teardown" or not report.failed:
        return report
    funcargs = getattr(item, "funcargs", {})
    context: BrowserContext | None = funcargs.get("browser_context")
    live: LiveApp | None = funcargs.get("live_app")
    if context is not None:
        folder: Path = item.config.rootpath / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        stem = file_stem(item.nodeid)
        lines = []
        for number, page in enumerate(context.pages):
            suffix = "" if number == 0 else f"-{number}"
            path = folder / f"{stem}.FAILED{suffix}.png"
            try:
                _take(page, path)
                lines.append(f"{path} ({page.url})")
            except Exception as error:  # a crashed page must not hide the test's own failure
                lines.append(f"no screenshot of {page.url}: {error}")
        report.sections.append(("screenshots", "\n".join(lines) or "no page was open"))
        messages: list[str] = funcargs.get("console_messages", [])
        if messages:
            report.sections.append(("browser console", "\n".join(messages)))
    if live is not None and live.server_errors:
        report.sections.append(("server errors", "\n".join(live.server_errors)))
    return report


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright, screenshot_dir: Path) -> Iterator[Browser]:
    """Debian's Chromium, headless: no browser is ever downloaded.

    Asks for screenshot_dir so the folder is emptied before any browser test has run, never
    after one has saved a screenshot there.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}, which is missing. "
            f"Install it with: apt-get install chromium chromium-driver "
            f"(.ci/run does this in CI). Do not run `playwright install`.",
            pytrace=False,
        )
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=60_000
    )
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield browser
    finally:
        browser.close()


# -- the app --------------------------------------------------------------------------------


def _closing(app: Flask) -> Callable[[dict[str, Any], Any], Iterator[bytes]]:
    """The app, each response closed as its sending ends, however it ends. werkzeug's
    development server skips closing it when the client resets the connection just after
    the answer (its read of the rest of the request fails first): the file behind a static
    file was then closed only when collected, with a ResourceWarning that failed whichever
    test it landed in (tests/browser/test_live_server.py)."""

    def serve(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


def _serve(app: Flask) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-app", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    """The web app on a fresh, migrated SQLite database, served on 127.0.0.1 in a thread.

    Plain HTTP, so session cookies are not marked Secure here. An exception the app raises
    while serving a request fails the test (clear `live_app.server_errors` in a test that
    provokes one on purpose).
    """
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'pathways.sqlite3'}",
                        secret_key="browser-tests", secure_cookies=False)
    application = bootstrap(settings)
    flask_app = create_app(application)
    limiter.reset()  # sign-in limits live in this process: each test starts afresh
    server, thread = _serve(flask_app)
    live = LiveApp(base_url=f"http://127.0.0.1:{server.server_port}",
                   application=application, flask_app=flask_app)

    def record(_sender: Flask, exception: BaseException, **_extra: Any) -> None:
        live.server_errors.append("".join(traceback.format_exception(exception)))

    got_request_exception.connect(record, flask_app)
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, flask_app)
        application.close()
    if live.server_errors:
        pytest.fail("the app raised while serving the test:\n" + "\n".join(live.server_errors),
                    pytrace=False)


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def browser_context(browser: Browser, live_app: LiveApp) -> Iterator[BrowserContext]:
    """A fresh context (no cookies, no storage) per test, with base_url at the live app."""
    context = browser.new_context(base_url=live_app.base_url,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def console_messages() -> list[str]:
    """The page's console errors and warnings and uncaught exceptions, for failure reports."""
    return []


@pytest.fixture
def page(browser_context: BrowserContext, console_messages: list[str]) -> Page:
    page = browser_context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console_messages.append(f"console.{message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        console_messages.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return page
