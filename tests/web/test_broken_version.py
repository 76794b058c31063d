"""One published version whose stored BPMN no longer parses must not take the inbox, the
client pages, the incidents or the dashboard down with it (issue 11).

Its open tasks cannot be judged by their lane roles, so they are never opened to everyone:
they are withheld from all but admins, who see them marked as unloadable (never openable),
and the page or API answer says what was left out. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from adapters.bootstrap import bootstrap
from tests.robustness.broken_world import ADMIN, CASEWORKER, BrokenWorld, build
from tests.web.conftest import CHEAP_HASHER, Site, force_sign_in

API = "/api/v1"


@dataclass
class Broken:
    site: Site
    world: BrokenWorld

    def browser(self, username: str) -> FlaskClient:
        browser = self.site.client()
        force_sign_in(browser, self.site, username)
        return browser

    def api(self, path: str, token: str) -> Any:
        return self.site.client().get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def broken(site: Site) -> Broken:
    """The broken programme, built through another application so that the site's own
    caches hold nothing: what is stored is what is read."""
    builder = bootstrap(site.application.settings, hasher=CHEAP_HASHER)
    try:
        world = build(builder)
    finally:
        builder.close()
    return Broken(site, world)


def test_an_admins_inbox_lists_everything_and_marks_the_unloadable_task(broken: Broken) -> None:
    page = broken.browser(ADMIN).get("/inbox")
    assert page.status_code == 200, page.text
    world = broken.world
    assert f'/tasks/{world.tasks["active"]}"' in page.text  # the healthy task opens
    rotten = world.tasks["rotten"]
    assert f"/tasks/{rotten}" not in page.text  # listed, never offered to open or claim
    assert f'value="{rotten}"' not in page.text
    assert "definition cannot be loaded" in page.text
    assert "1 task of rotten v1 cannot be opened" in page.text


def test_a_caseworkers_inbox_withholds_the_unloadable_task_and_says_so(broken: Broken) -> None:
    page = broken.browser(CASEWORKER).get("/inbox")
    assert page.status_code == 200, page.text
    world = broken.world
    assert f'/tasks/{world.tasks["active"]}"' in page.text
    assert world.tasks["rotten"] not in page.text
    assert "Some tasks cannot be shown" in page.text
    assert "rotten" not in page.text.replace("/static/", "")  # not even how many, or where


def test_the_api_inbox_answers_the_loadable_rows_and_the_problems(broken: Broken) -> None:
    world = broken.world
    admin = broken.api(f"{API}/tasks", world.token)
    assert admin.status_code == 200, admin.text
    body = admin.get_json()
    rows = {t["id"]: t for t in body["tasks"]}
    assert rows[world.tasks["active"]]["problem"] is None
    assert "cannot be loaded" in rows[world.tasks["rotten"]]["problem"]
    assert body["counts"]["role"] == len(rows)
    [problem] = body["problems"]
    assert problem["code"] == "invalid_definition"
    assert problem["details"]["pathway"] == "rotten" and problem["details"]["version"] == 1
    assert problem["details"]["tasks"] == 1 and "rotten v1" in problem["message"]

    caseworker = broken.api(f"{API}/tasks", world.caseworker_token)
    assert caseworker.status_code == 200, caseworker.text
    body = caseworker.get_json()
    ids = {t["id"] for t in body["tasks"]}
    assert world.tasks["active"] in ids and world.tasks["rotten"] not in ids
    [problem] = body["problems"]
    assert problem["code"] == "invalid_definition" and problem["details"] == {}
    assert "rotten" not in str(problem)


def test_the_unloadable_task_itself_still_refuses_honestly(broken: Broken) -> None:
    world = broken.world
    for token in (world.token, world.caseworker_token):
        answer = broken.api(f"{API}/tasks/{world.tasks['rotten']}", token)
        assert answer.status_code in (404, 422), answer.text
        if answer.status_code == 422:
            assert answer.get_json()["error"]["details"]["pathway"] == "rotten"
    # a caseworker is not told the task exists: lane roles cannot be judged
    answer = broken.api(f"{API}/tasks/{world.tasks['rotten']}", world.caseworker_token)
    assert answer.status_code == 404, answer.text


@pytest.mark.parametrize("user", [ADMIN, CASEWORKER])
def test_the_client_pages_work_beside_an_unloadable_case(broken: Broken, user: str) -> None:
    world = broken.world
    browser = broken.browser(user)
    listing = browser.get("/clients")
    assert listing.status_code == 200, listing.text
    record = browser.get(f"/clients/{world.client}")
    assert record.status_code == 200, record.text
    token = world.token if user == ADMIN else world.caseworker_token
    answer = broken.api(f"{API}/clients/{world.client}", token)
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    shown = {c["id"]: c for c in body["cases"]}
    if user == ADMIN:
        assert "cannot be loaded" in shown[world.cases["rotten"]]["problem"]
        assert shown[world.cases["active"]]["problem"] is None
        assert body["unloadable_withheld"] is False
        assert f"/tasks/{world.tasks['rotten']}" not in record.text  # never offered to open
        assert "definition cannot be loaded" in record.text
    else:  # its privacy rules cannot be read: withheld from all but admins, and said so
        assert world.cases["rotten"] not in shown and world.cases["active"] in shown
        assert body["unloadable_withheld"] is True
        assert "Something on this record cannot be shown" in record.text
        assert "rotten" not in record.text


@pytest.mark.parametrize("user", [ADMIN, CASEWORKER])
def test_the_case_pages_beside_an_unloadable_case(broken: Broken, user: str) -> None:
    """The loadable case's page works; the unloadable one is an admin's only, marked, with
    no diagram and no task offered to open; for anyone else it is not found."""
    world = broken.world
    browser = broken.browser(user)
    token = world.token if user == ADMIN else world.caseworker_token
    active, rotten = world.cases["active"], world.cases["rotten"]
    assert browser.get(f"/cases/{active}").status_code == 200
    assert browser.get(f"/cases/{active}/diagram.bpmn").status_code == 200
    assert broken.api(f"{API}/cases/{active}", token).status_code == 200
    page = browser.get(f"/cases/{rotten}")
    answer = broken.api(f"{API}/cases/{rotten}", token)
    assert browser.get(f"/cases/{rotten}/diagram.bpmn").status_code == 404
    if user == ADMIN:
        assert page.status_code == 200, page.text
        assert "cannot be loaded" in page.text and 'id="diagram"' not in page.text
        assert f"/tasks/{world.tasks['rotten']}" not in page.text
        assert "cannot be loaded" in answer.get_json()["problem"]
    else:
        assert (page.status_code, answer.status_code) == (404, 404)
        assert "rotten" not in page.text


def test_incidents_and_dashboard_work_beside_an_unloadable_version(broken: Broken) -> None:
    browser = broken.browser(ADMIN)
    for path in ("/admin/incidents", "/dashboard"):
        page = browser.get(path)
        assert page.status_code == 200, (path, page.text)
    assert "rotten v1 cannot be loaded" in browser.get("/dashboard").text
    answer = broken.api(f"{API}/incidents", broken.world.token)
    assert answer.status_code == 200, answer.text


# -- who sees the unloadable version's task: the access matrix of this failure mode ---------
#
#   who (any organisation)        inbox row   problems details   GET /tasks/T   claim T
#   caseworker, team lead         withheld    {}                 404            404
#   caseworker limited to a role  withheld    {}                 404            404
#   designer, commissioner        no inbox (403)                 404            404
#   admin                         marked      pathway, version   422 (named)    422 (named)

OTHERS = {"rb_lead": "team_lead", "rb_designer": "designer",
          "rb_commissioner": "commissioner", "other_caseworker": "caseworker",
          "rb_narrow": "caseworker"}


@pytest.mark.parametrize("username", [ADMIN, CASEWORKER, *OTHERS])
def test_no_role_gains_the_unloadable_task(broken: Broken, username: str) -> None:
    accounts = broken.site.application.accounts
    if username in OTHERS:
        organisation = "robust_org"
        if username == "other_caseworker":
            organisation = "other_org"
            accounts.add_organisation(organisation, "Other Org")
        accounts.add_user(username, username, organisation, OTHERS[username],
                          "correct horse battery",
                          pathway_roles=["nobody"] if username == "rb_narrow" else ())
    token = accounts.issue_token(username, "tests")[1]
    rotten = broken.world.tasks["rotten"]
    inbox = broken.api(f"{API}/tasks", token)
    task = broken.api(f"{API}/tasks/{rotten}", token)
    claim = broken.site.client().post(f"{API}/tasks/{rotten}/claim",
                                      headers={"Authorization": f"Bearer {token}"})
    if username == ADMIN:
        assert rotten in {t["id"] for t in inbox.get_json()["tasks"]}
        for answer in (task, claim):
            assert answer.status_code == 422, answer.text
            assert answer.get_json()["error"]["details"]["pathway"] == "rotten"
        return
    if OTHERS.get(username) in ("designer", "commissioner"):
        assert inbox.status_code == 403, inbox.text
    else:
        assert inbox.status_code == 200, inbox.text
        body = inbox.get_json()
        assert rotten not in {t["id"] for t in body["tasks"]}
        assert all(p["details"] == {} for p in body["problems"])
    for answer in (task, claim):
        assert answer.status_code == 404, answer.text


def test_a_dashboard_table_file_names_the_versions_it_left_out(broken: Broken) -> None:
    """A table computed without an unloadable version's steps says so; the activity table
    counts every task whatever its version's definition, so it leaves nothing out and says
    nothing."""
    browser = broken.browser(ADMIN)
    answer = browser.get("/dashboard/versions.csv?pathway=robust")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Pathways-Left-Out"] == "rotten v1"
    activity = browser.get("/dashboard/activity.csv?pathway=robust")
    assert activity.status_code == 200, activity.text
    assert "X-Pathways-Left-Out" not in activity.headers
