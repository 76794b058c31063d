"""No redirect leaves the site: every target the app takes from a request (sign-in's `next`,
GET and POST; the `back` of claim, give-back and bulk reassign) ends on a path of this
site, whatever tricks the value plays, on SQLite and PostgreSQL.

The attack: `/login?next=/%09/evil.example` used to answer `Location: /\t/evil.example`,
which a browser reads as `//evil.example` (it drops tabs and newlines and takes `\\` for `/`),
a page on another host that can pass for the sign-in page. The check below reads each Location
as a browser would and asserts it stays on this origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest

from tests.web.conftest import PASSWORD, csrf_token
from tests.web.test_access_matrix import session_for, shared_target
from tests.web.test_access_matrix import shared as shared  # the fixture, re-exported
from tests.web.test_pages import World
from web.security import limiter

ORIGIN = "https://pathways.example"

EVIL = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "/%0a/evil.example",
    "/\r/evil.example",
    "/%0D/evil.example",
    "/\r\n/evil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%252F%252Fevil.example",
    "/%25%32%66/evil.example",
    "https:evil.example",
    "https://evil.example",
    "http:/evil.example",
    "HTTPS://evil.example/login",
    "https:\\\\evil.example",
    "//user@evil.example",
    "@evil.example",
    "evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\x00/evil.example",
    "\x00//evil.example",
    " //evil.example",
    "\t//evil.example",
    "/ /evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x7f/evil.example",
    "\uff0f\uff0fevil.example",
    "/\uff0f\uff0fevil.example",
    "/\u2215\u2215evil.example",
    "/\u200b/evil.example",
    "/\u2028/evil.example",
    "/" + "a" * 5000,
    "",
]

GOOD = ["/inbox", "/inbox?scope=mine&sort=-due", "/clients?q=Smith", "/dashboard",
        "/inbox?data=needs%3Dyes"]


def browser_readings(location: str) -> Iterator[str]:
    """The Location as sent, and as the WHATWG URL parser would see it: leading and trailing
    C0 controls and spaces trimmed, every tab and newline dropped, `\\` taken as `/`; and
    percent-decoded (in case something downstream decodes it once or twice)."""
    yield location
    trimmed = location.strip("".join(chr(c) for c in range(0x21)))
    dropped = re.sub(r"[\t\n\r]", "", trimmed)
    yield dropped
    yield dropped.replace("\\", "/")
    once = unquote(dropped)
    yield once.replace("\\", "/")
    yield unquote(once).replace("\\", "/")


def assert_same_origin(location: str) -> None:
    assert location.isascii() and location.isprintable() and " " not in location, location
    assert "\\" not in location, location
    for reading in browser_readings(location):
        parts = urlsplit(reading)
        assert not parts.scheme and not parts.netloc, (location, reading)
        assert reading.startswith("/") and not reading.startswith("//"), (location, reading)
        joined = urlsplit(urljoin(ORIGIN + "/login", reading))
        assert (joined.scheme, joined.netloc) == ("https", "pathways.example"), (location,
                                                                                  reading)


def in_query(value: str) -> str:
    """The value typed into a URL as is: raw bytes a URL cannot hold are escaped, escapes the
    attacker wrote (%09, %2F) are kept, so the server decodes them itself."""
    return quote(value, safe="/%:@\\;=!$'()*,~")


def redirected(response: object, location_expected: str | None = None) -> str:
    """The same-origin Location of a redirect; "" when the request was refused outright (a NUL
    or lone surrogate anywhere is a 400 before any view runs: no redirect is safe too)."""
    status = getattr(response, "status_code", None)
    if status == 400 and location_expected is None:
        assert "location" not in getattr(response, "headers", {})
        return ""
    assert status == 302, getattr(response, "text", "")[:300]
    location = str(getattr(response, "location", ""))
    assert_same_origin(location)
    if location_expected is not None:
        assert location == location_expected
    return location


# -- sign-in: GET (already signed in) and POST ------------------------------------------------


def home_or_refused(target: str) -> str:
    """Where an evil target must lead: home, or nowhere ("") for one with a NUL, which is
    refused (400) before any view runs."""
    return "" if "\x00" in target else "/"


@pytest.mark.parametrize("target", EVIL)
def test_login_next_on_get_stays_on_the_site(shared: World, target: str) -> None:
    client, _ = session_for(shared, "sg_caseworker")
    response = client.get("/login?next=" + in_query(target))
    assert redirected(response) == home_or_refused(target)
    response = client.get("/login", query_string={"next": target})  # the decoded value
    assert redirected(response) == home_or_refused(target)


@pytest.mark.parametrize("target", EVIL)
def test_login_next_on_post_stays_on_the_site(shared: World, target: str) -> None:
    limiter.reset()
    client = shared.app_site.client()
    page = client.get("/login?next=" + in_query(target))
    if "\x00" in target:
        assert page.status_code == 400 and "evil.example" not in page.text
        page = client.get("/login")
    assert page.status_code == 200
    assert "evil.example" not in page.text  # not even carried in the form
    response = client.post("/login", data={"username": "sg_caseworker", "password": PASSWORD,
                                           "next": target,
                                           "csrf_token": csrf_token(page.text)})
    assert redirected(response) == home_or_refused(target)


@pytest.mark.parametrize("target", GOOD)
def test_login_next_still_takes_paths_of_the_site(shared: World, target: str) -> None:
    client, _ = session_for(shared, "sg_caseworker")
    assert redirected(client.get("/login", query_string={"next": target})) == target
    limiter.reset()
    fresh = shared.app_site.client()
    page = fresh.get("/login", query_string={"next": target})
    response = fresh.post("/login", data={"username": "sg_caseworker", "password": PASSWORD,
                                          "next": target, "csrf_token": csrf_token(page.text)})
    assert redirected(response) == target


def test_a_page_that_needs_sign_in_comes_back_after_it(shared: World) -> None:
    limiter.reset()
    client = shared.app_site.client()
    asked = client.get("/inbox", query_string={"scope": "mine", "sort": "-due"})
    to_login = redirected(asked)
    assert to_login.startswith("/login?next=")
    page = client.get(to_login)
    target = unquote(to_login.split("next=", 1)[1])
    response = client.post("/login", data={"username": "sg_caseworker", "password": PASSWORD,
                                           "next": target, "csrf_token": csrf_token(page.text)})
    assert redirected(response) == "/inbox?scope=mine&sort=-due"


# -- claim and give back: `back` ------------------------------------------------------------


def claim_and_give_back(shared: World, back: str) -> tuple[str, str]:
    client, token = session_for(shared, "sg_caseworker")
    task = shared_target(shared, "sg").task_id
    claimed = client.post(f"/tasks/{task}/claim", data={"csrf_token": token, "back": back})
    given = client.post(f"/tasks/{task}/unclaim", data={"csrf_token": token, "back": back})
    return redirected(claimed), redirected(given)


@pytest.mark.parametrize("target", EVIL)
def test_claim_and_unclaim_back_stay_on_the_site(shared: World, target: str) -> None:
    claimed, given = claim_and_give_back(shared, target)
    if target:
        assert claimed == given == home_or_refused(target)
    else:  # no `back`: where each goes by default
        assert re.fullmatch(r"/tasks/[\w-]+", claimed) and given == "/inbox"


def test_claim_and_unclaim_back_take_paths_of_the_site(shared: World) -> None:
    assert claim_and_give_back(shared, "/inbox?scope=mine") == ("/inbox?scope=mine",) * 2
    client, token = session_for(shared, "sg_caseworker")
    task = shared_target(shared, "sg").task_id
    claimed = client.post(f"/tasks/{task}/claim", data={"csrf_token": token})
    assert redirected(claimed) == f"/tasks/{task}"
    given = client.post(f"/tasks/{task}/unclaim", data={"csrf_token": token})
    assert redirected(given) == "/inbox"


# -- bulk reassign: `back` (the inbox as it was filtered) -------------------------------------


def reassign_back(shared: World, back: str, *, ticked: bool) -> str:
    client, token = session_for(shared, "sg_team_lead")
    task = shared_target(shared, "sg").task_id
    data = {"csrf_token": token, "back": back, "to": "sg_caseworker"}
    if ticked:
        data["task"] = task
    return redirected(client.post("/inbox/reassign", data=data))


@pytest.mark.parametrize("target", EVIL)
def test_the_bulk_reassign_back_stays_on_the_site(shared: World, target: str) -> None:
    for ticked in (False, True):  # nothing ticked, and a task reassigned
        went = reassign_back(shared, target, ticked=ticked)
        assert went == (home_or_refused(target) if target else "/inbox?scope=role"), went


def test_the_bulk_reassign_back_takes_the_inbox_as_filtered(shared: World) -> None:
    filtered = "/inbox?scope=role&pathway=gate_reception&sort=client"
    assert reassign_back(shared, filtered, ticked=True) == filtered
    assert reassign_back(shared, filtered, ticked=False) == filtered


def test_every_redirect_parameter_is_in_these_tests() -> None:
    """A new place that redirects to a target from the request fails here until it is
    tested above (and goes through web.security.safe_next)."""
    web = Path(__file__).resolve().parents[2] / "web"
    found = set()
    for path in web.glob("*.py"):
        for line in path.read_text().splitlines():
            if "redirect(" in line and "redirect(url_for(" not in line:
                found.add((path.name, line.strip()))
    assert all("safe_next(" in line for _, line in found), found
    assert {name for name, _ in found} <= {"auth.py", "casework.py"}, found
