"""The nav's counts of new and overdue tasks (issue 18, item 10), each a link to the inbox
showing them; "new" is since the user last looked at the inbox; the counts follow the same
access rules as the inbox (another organisation's tasks are never counted); the account
page's digest choice; and what the counts cost a page."""

from __future__ import annotations

import html
import re

from tests.web.conftest import Site, csrf_token
from tests.web.test_dashboard_speed import counted
from tests.web.test_pages import World, flashes, inbox_clients, world  # noqa: F401


def news(page: str) -> dict[str, tuple[int, str]]:
    """The nav's counts: what -> (count, the link's address)."""
    found = re.findall(r'<a class="news[^"]*" href="([^"]+)">(\d+)\+? ([^<]+)</a>', page)
    return {what: (int(n), html.unescape(href)) for href, n, what in found}


def test_the_nav_counts_new_and_overdue_tasks_and_links_to_them(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    # never looked: both St Giles tasks are new; Ben's is overdue; Ormiston's Cara is not theirs
    first = news(client.get("/clients").text)
    assert first["new for your role"][0] == 2 and first["overdue"][0] == 1
    assert "new for you" not in first
    assert first["overdue"][1] == "/inbox?scope=role&overdue=yes"
    assert inbox_clients(client.get(first["overdue"][1]).text) == ["Ben Jones"]

    assert client.get("/inbox").status_code == 200  # looking at the inbox
    after = news(client.get("/clients").text)
    assert "new for your role" not in after and after["overdue"][0] == 1

    world.new_client("sg", "Dan Brown")
    lead = world.application.casework
    _, eve_task = world.new_client("sg", "Eve Black")
    lead.reassign(world.user("sg_team_lead"), [eve_task], "sg_caseworker")
    now = news(client.get(f"/clients/{world.clients['aaron']}").text)
    assert now["new for your role"][0] == 2 and now["new for you"][0] == 1
    assert re.fullmatch(r"/inbox\?scope=role&since=\d{4}-\d\d-\d\dT[\d:.]+Z",
                        now["new for your role"][1])
    role_page = client.get(now["new for your role"][1]).text
    assert sorted(inbox_clients(role_page)) == ["Dan Brown", "Eve Black"]
    assert "Only the tasks created since" in role_page
    assert inbox_clients(client.get(now["new for you"][1]).text) == ["Eve Black"]
    # that look was a look too
    assert "new for your role" not in news(client.get("/clients").text)


def test_another_organisation_counts_only_its_own(world: World) -> None:  # noqa: F811
    page = world.client("om_caseworker").get("/clients").text
    assert news(page) == {"new for your role": (1, "/inbox?scope=role")}  # Cara alone


def test_no_counts_on_the_inbox_itself_nor_for_those_who_do_no_tasks(world: World) -> None:  # noqa: F811
    assert news(world.client("sg_caseworker").get("/inbox").text) == {}
    designer = world.client("sg_designer")
    assert news(designer.get("/pathways").text) == {}
    assert news(designer.get("/account").text) == {}


def test_a_since_that_is_no_moment_is_refused_naming_it(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-10-07T14:05:00"):
        page = client.get(f"/inbox?since={bad}")
        assert page.status_code == 400, bad
        assert "since: since must be a date and time with its zone" in page.text
        assert inbox_clients(page.text) == []


def test_the_account_page_turns_the_digest_on_and_off(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    page = client.get("/account")
    assert page.status_code == 200
    assert "St Giles Trust" in page.text and "st_giles_trust" not in page.text
    assert 'name="digest" value="on">' in page.text  # not ticked
    on = client.post("/account/digest", data={"csrf_token": csrf_token(page.text),
                                              "digest": "on"})
    assert on.status_code == 302 and on.location == "/account"
    page = client.get("/account")
    assert flashes(page.text) == ["You will get the daily e-mail digest."]
    assert 'name="digest" value="on" checked>' in page.text
    assert world.application.casework.notices(world.user("sg_caseworker")).digest
    client.post("/account/digest", data={"csrf_token": csrf_token(page.text)})
    assert not world.application.casework.notices(world.user("sg_caseworker")).digest
    # someone else's choice is not touched
    assert not world.application.casework.notices(world.user("sg_team_lead")).digest


def test_the_counts_cost_a_page_three_statements(world: World, site: Site) -> None:  # noqa: F811
    """Pinned: the nav's counts are a read-only transaction of their own (PostgreSQL's
    SET TRANSACTION, SQLite's BEGIN), the published versions (their parsed definitions
    cached) and one statement of capped counts with the last look in it; the same however
    many tasks there are (each count stops at 100 rows, read from an index)."""
    caseworker, designer = world.client("sg_caseworker"), world.client("sg_admin")
    caseworker.get("/clients")
    designer.get("/clients")
    with counted(site) as seen:
        caseworker.get("/clients")
    notices = [s for s in seen if "user_notices" in s]
    assert len(notices) == 1 and "inbox_tasks" in notices[0]  # one statement of counts
    with counted(site) as plain:
        world.client("sg_commissioner").get("/dashboard")
    assert not [s for s in plain if "user_notices" in s]  # no nav counts, no statements
    dialect = site.application.database.dialect.name
    # was 8 and 8; 11 and 11 while the session and its user were two statements
    assert len(seen) == {"sqlite": 10, "postgresql": 10}[dialect], seen
