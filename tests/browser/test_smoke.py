"""The browser reaches the live app: /health, read as a person's browser shows it."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap


def test_health_shows_the_database_and_the_published_pathways(
    live_app: LiveApp, page: Page, snap: Snap
) -> None:
    # Seeded through the same Application the server uses, before the page is opened.
    files, main = read_bundle(PROJECT_ROOT / "definitions" / "family_support.yaml")
    live_app.application.engine.publish(files, main, note="browser smoke test")

    response = page.goto("/health")

    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    shown = json.loads(page.locator("pre").first.inner_text())
    assert shown == {"status": "ok", "database": "ok", "pathways": 1}
    assert snap(page, "health").stat().st_size > 0
