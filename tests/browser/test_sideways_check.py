"""The browser tests' "nothing scrolls sideways" check measures the page as it is drawn. With
the stylesheet still on its way (a loaded CI machine), a form can already be filled and the
unstyled page is wider than a phone: a check that measured it then failed a page that fits
(CI at stop 35, the organisations page at 375 px)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.support import LiveApp, assert_no_sideways

PASSWORD = "correct horse battery"


def _stylesheet_late_when(late: list[bool], live_app: LiveApp) -> None:
    """While late[0] holds, the stylesheet is served a second and a half late."""
    wsgi_app = live_app.flask_app.wsgi_app

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if late[0] and environ.get("PATH_INFO", "").endswith("/pathways.css"):
            time.sleep(1.5)
        return wsgi_app(environ, start_response)

    live_app.flask_app.wsgi_app = slow  # type: ignore[method-assign]


def test_the_check_waits_for_the_stylesheet(live_app: LiveApp, page: Page) -> None:
    accounts = live_app.application.accounts
    accounts.add_organisation("st_giles_trust", "St Giles Trust")
    accounts.add_organisation("ormiston_families", "Ormiston Families")
    accounts.add_user("ann", "Ann Admin", "st_giles_trust", "admin", PASSWORD)
    late = [False]
    _stylesheet_late_when(late, live_app)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/login")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    late[0] = True
    page.route("**/*", lambda route: route.continue_())  # no cache: the stylesheet is fetched
    page.goto("/admin/organisations", wait_until="commit")
    page.get_by_label("New name of Ormiston Families").fill("Ormiston")  # before its styles
    assert_no_sideways(page)
