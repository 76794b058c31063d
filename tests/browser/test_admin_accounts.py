"""The admin's account pages in a real browser (issue 18, item 9), on a desktop and a phone
(375 px): adding a user (a refused form keeps what was typed and names the field; the
password is shown once), creating an API token for them (shown once) and revoking it.
Nothing scrolls sideways. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.support import LiveApp, Snap, assert_no_sideways, assert_within_width

WIDTHS = {"phone": (375, 812), "desktop": (1280, 800)}
PASSWORD = "correct horse battery"


@pytest.fixture
def office(live_app: LiveApp) -> LiveApp:
    accounts = live_app.application.accounts
    accounts.add_organisation("st_giles_trust", "St Giles Trust")
    accounts.add_organisation("ormiston_families", "Ormiston Families")
    accounts.add_user("ann", "Ann Admin", "st_giles_trust", "admin", PASSWORD)
    return live_app


def _fits(page: Page, *controls: Locator) -> None:
    """Nothing scrolls sideways, and each control is wholly inside the window."""
    assert_no_sideways(page)
    for control in controls:
        assert_within_width(page, control)


def _sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.mark.parametrize("size", WIDTHS)
def test_an_admin_adds_a_user_and_revokes_their_token(office: LiveApp, page: Page,
                                                      snap: Snap, size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    _sign_in(page, "ann", PASSWORD)
    page.get_by_role("link", name="Users", exact=True).click()
    add = page.get_by_role("link", name="Add a user")
    _fits(page, add)
    snap(page, f"{size}-1-users")
    add.click()

    # a bad username: named at its field, everything typed kept
    page.get_by_label(re.compile("^Username")).fill("Bea Smith")
    page.get_by_label("Name", exact=True).fill("Bea Smith")
    page.get_by_label("Organisation", exact=True).select_option(label="Ormiston Families")
    page.get_by_label("Role", exact=True).select_option(label="team lead")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the fields")
    expect(page.locator(".field.invalid .field-error")).to_contain_text("lower case letters")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Bea Smith")
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("ormiston_families")
    expect(page.get_by_label("Role", exact=True)).to_have_value("team_lead")
    _fits(page, page.get_by_role("button", name="Add user"))
    snap(page, f"{size}-2-add-user-refused")

    page.get_by_label(re.compile("^Username")).fill("bea.smith")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", name="Password of Bea Smith")).to_be_visible()
    secret = page.locator("#secret")
    password = secret.inner_text().strip()
    assert len(password) >= 20
    _fits(page, secret)
    snap(page, f"{size}-3-password-shown-once")

    # the user's page: a token made, shown once, listed, then revoked
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Bea Smith")).to_be_visible()
    expect(page.get_by_text("Ormiston Families")).to_be_visible()
    page.get_by_label(re.compile("^New token for")).fill("Case sync")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="API token for Bea Smith")).to_be_visible()
    token = page.locator("#secret").inner_text().strip()
    assert token
    _fits(page, page.locator("#secret"))
    snap(page, f"{size}-4-token-shown-once")
    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has_text="Case sync")
    expect(row).to_contain_text("live")
    revoke = row.get_by_role("button", name="Revoke token Case sync")
    _fits(page, revoke)
    snap(page, f"{size}-5-token-listed")
    revoke.click()
    expect(page.get_by_role("status")).to_contain_text("Token “Case sync” of Bea Smith is revoked.")
    expect(page.get_by_role("row").filter(has_text="Case sync")).to_contain_text("revoked")
    assert token not in page.content() and password not in page.content()
    _fits(page)
    snap(page, f"{size}-6-token-revoked")
    assert office.application.accounts.user_for_token(token) is None

    # the new user signs in with the password they were given
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, "bea.smith", password)


@pytest.mark.parametrize("size", WIDTHS)
def test_organisations_and_the_access_report_fit(office: LiveApp, page: Page, snap: Snap,
                                                 size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    _sign_in(page, "ann", PASSWORD)
    page.get_by_role("link", name="Organisations", exact=True).click()
    page.get_by_label("New name of Ormiston Families").fill("Ormiston")
    rename = page.get_by_role("row").filter(has=page.get_by_label(
        "New name of Ormiston Families")).get_by_role("button", name="Rename")
    _fits(page, rename)
    rename.click()
    expect(page.get_by_role("status")).to_contain_text("is now called Ormiston.")
    page.get_by_label(re.compile("^Id")).fill("Nacro")
    page.get_by_label("Name", exact=True).fill("Nacro")
    page.get_by_role("button", name="Add organisation").click()
    expect(page.locator(".field.invalid .field-error")).to_contain_text("lower case letters")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Nacro")
    _fits(page, page.get_by_role("button", name="Add organisation"))
    snap(page, f"{size}-organisations-refused")

    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Organisation").select_option(label="St Giles Trust")
    page.get_by_label("User", exact=True).select_option(label="Ann Admin (ann)")
    page.get_by_role("button", name="Show").click()
    row = page.get_by_role("row").filter(has_text="renamed from")
    expect(row).to_contain_text("Ann Admin")
    _fits(page, page.get_by_role("link", name="Download as CSV"))
    snap(page, f"{size}-access-report")
