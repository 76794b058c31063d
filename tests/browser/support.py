"""What browser tests import: the live app's handle, the snap helper's type, the launch settings.

The fixtures themselves are in conftest.py beside this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from playwright.sync_api import Locator, Page, expect

from adapters.bootstrap import Application

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

Snap = Callable[[Page, str], Path]


@dataclass
class LiveApp:
    """The app served on a real port; `application` is the same one the server uses."""

    base_url: str  # http://127.0.0.1:PORT, no trailing slash
    application: Application
    flask_app: Flask
    server_errors: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return self.base_url + path


def file_stem(nodeid: str) -> str:
    """tests/browser/test_smoke.py::test_health[x] -> test_smoke.test_health-x"""
    name = nodeid.rsplit("/", 1)[-1].replace(".py::", ".")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


NO_SIDEWAYS = ("document.scrollingElement.scrollWidth <= "
               "document.scrollingElement.clientWidth")


def assert_no_sideways(page: Page, message: str = "") -> None:
    """Nothing on the page scrolls sideways, measured as it is drawn: once its stylesheets
    have loaded (a form can be filled before then, and the unstyled page is wider)."""
    page.wait_for_load_state("load")
    assert page.evaluate(NO_SIDEWAYS), message or f"{page.url} scrolls sideways"


def assert_within_width(page: Page, control: Locator) -> None:
    """The control is visible and wholly inside the window's width (reachable without
    scrolling sideways), measured as the page is drawn: once its stylesheets have loaded.
    Unstyled, a phone's inbox is a wide table: CI once measured a row's Give back button at
    x = 638 of 375 while the stylesheet's revalidation was on its way."""
    expect(control).to_be_visible()
    page.wait_for_load_state("load")
    box = control.bounding_box()
    assert box is not None
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
