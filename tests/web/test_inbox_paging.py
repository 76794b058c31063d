"""The inbox a page at a time (issue 17): the web page's page links and the API's limit and
offset list every task once, in order; and a page's SQL statements do not grow with the
number of tasks."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from adapters.sql import tables
from tests.web.conftest import Site
from tests.web.test_dashboard_speed import counted
from tests.web.test_pages import World, inbox_clients, inbox_counts, world  # noqa: F401

URLS = ("/inbox", "/inbox?sort=client", "/inbox?scope=mine&sort=-created",
        "/inbox?overdue=yes&per_page=5&page=2", "/inbox?step=gate_meeting&sort=title",
        "/api/v1/tasks", "/api/v1/tasks?sort=-due&limit=10&offset=5")


def grow(programme: World, tasks: int) -> None:
    """More clients, each with an open gate reception task (a copy of Aaron's), up to
    tasks open tasks in all: inserted as rows, the engine is not what is measured."""
    database = programme.application.database
    inbox, cases, clients = tables.inbox_tasks, tables.cases, tables.clients
    with database.begin() as connection:
        template = connection.execute(select(inbox).where(
            inbox.c.id == programme.tasks["aaron"])).one()._asdict()
        case = connection.execute(select(cases).where(
            cases.c.id == template["case_id"])).one()._asdict()
        have = connection.execute(select(inbox.c.id).where(inbox.c.status == "open")).all()
        for number in range(len(have), tasks):
            name = f"Client {number:04d}"  # search_name as the client repository stores it
            client_id = connection.execute(insert(clients).values(
                name=name, search_name=name.lower(), fields={}, created_at=case["created_at"])
                .returning(clients.c.id)).scalar_one()
            case_id = connection.execute(insert(cases).values(
                {**{k: v for k, v in case.items() if k != "id"}, "client_id": client_id})
                .returning(cases.c.id)
            ).scalar_one()
            connection.execute(insert(inbox).values({
                **template, "id": f"copy-{number:04d}", "case_id": case_id,
                "assignee": "sg_caseworker" if number % 3 == 0 else None}))


def api_client(programme: World, username: str) -> tuple[FlaskClient, dict[str, str]]:
    plain = programme.application.accounts.issue_token(username, "tests")[1]
    return programme.app_site.client(), {"Authorization": f"Bearer {plain}"}


def statements(programme: World, site: Site) -> dict[str, int]:
    page = programme.client("sg_caseworker")
    api, headers = api_client(programme, "sg_caseworker")
    found = {}
    for url in URLS:
        with counted(site) as seen:
            response = (api.get(url, headers=headers) if url.startswith("/api")
                        else page.get(url))
        assert response.status_code == 200, (url, response.text[:300])
        found[url] = len(seen)
    return found


def test_statements_per_inbox_request_do_not_grow_with_the_tasks(world: World,  # noqa: F811
                                                                  site: Site) -> None:
    grow(world, 20)
    statements(world, site)  # parses and caches each published version's definition once
    few = statements(world, site)
    grow(world, 120)
    assert statements(world, site) == few
    assert max(few.values()) < 40, few
    # the page's statements, pinned: the session and user, the versions, the counts, the
    # rows, the user's saved filters (issue 18: one query, in the same transaction), the
    # organisations for the layout; SQLite's count has the BEGINs PostgreSQL's driver sends
    # unseen. Was 9 and 8 before saved filters. Then the look at the inbox, kept for the
    # nav's "new since you looked" (issue 18, item 10): one upsert, in a write transaction
    # of its own (SQLite's BEGIN IMMEDIATE counted); the inbox page computes no nav counts.
    # Pathway titles come from the cached definitions, and the assignees named here are the
    # reader (whose name is known): no statement. A row assigned to anyone else costs one
    # read of the users (web.people), once per request. The session and its user are one
    # statement (12 and 10 when they were two).
    dialect = site.application.database.dialect.name
    assert few["/inbox"] == {"sqlite": 11, "postgresql": 9}[dialect], few


def test_the_pages_list_every_task_once_in_order(world: World) -> None:  # noqa: F811
    grow(world, 23)
    client = world.client("sg_caseworker")
    every = client.get("/inbox?sort=client&per_page=500")
    everyone = inbox_clients(every.text)
    assert len(everyone) == 22  # St Giles' tasks: Ormiston's Cara is not theirs
    assert "Tasks" not in every.text.split("</table>")[1]  # one page: no page links
    seen: list[str] = []
    for page in range(1, 6):
        html = client.get(f"/inbox?sort=client&per_page=5&page={page}").text
        assert inbox_counts(html) == inbox_counts(every.text)
        seen += inbox_clients(html)
    assert seen == everyone
    first = client.get("/inbox?sort=client&per_page=5").text
    assert "Tasks 1 to 5 of 22 (page 1 of 5)" in first
    links = re.findall(r'href="(/inbox\?[^"]+)" rel="next"', first)
    assert links == ["/inbox?sort=client&amp;per_page=5&amp;page=2"]
    assert inbox_clients(client.get("/inbox?sort=client&per_page=5&page=9").text) == []
    default = client.get("/inbox?sort=client")
    assert inbox_clients(default.text) == everyone  # 50 a page
    for bad in ("page=0", "page=x", "per_page=0", "per_page=501", "page=99999999999"):
        assert client.get(f"/inbox?{bad}").status_code == 400, bad


def test_the_api_lists_a_page_with_its_offsets(world: World) -> None:  # noqa: F811
    grow(world, 23)
    api, headers = api_client(world, "sg_caseworker")
    every = api.get("/api/v1/tasks?limit=500&sort=-client", headers=headers).json
    assert every["total"] == 22 and every["next_offset"] is None
    ids = [task["id"] for task in every["tasks"]]
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        body = api.get(f"/api/v1/tasks?limit=10&offset={offset}&sort=-client",
                       headers=headers).json
        assert body["counts"] == every["counts"] and body["total"] == 22
        assert body["limit"] == 10 and body["offset"] == offset
        seen += [task["id"] for task in body["tasks"]]
        offset = body["next_offset"]
    assert seen == ids
    default = api.get("/api/v1/tasks", headers=headers).json
    assert default["limit"] == 50 and len(default["tasks"]) == 22
    for bad in ("limit=0", "limit=501", "offset=-1", "limit=x"):
        response = api.get(f"/api/v1/tasks?{bad}", headers=headers)
        assert response.status_code == 400, bad
        assert set(response.json["error"]["details"]["fields"]) <= {"limit", "offset"}


def test_counts_past_the_cap_are_shown_as_such_and_every_page_is_reached(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The web page and the API count at most COUNT_CAP tasks past the page's offset (500;
    5 here): a count that stopped there is shown as 5+, the total as "at least", and the
    next page is linked until the last, so every task is still reached once."""
    monkeypatch.setattr("web.casework.COUNT_CAP", 5)
    monkeypatch.setattr("web.api.tasks.COUNT_CAP", 5)
    grow(world, 23)
    client = world.client("sg_caseworker")
    everyone = inbox_clients(client.get("/inbox?sort=client&per_page=500").text)
    first = client.get("/inbox?sort=client&per_page=5").text
    assert 'For my role <span class="badge">5+</span>' in first
    assert "Tasks 1 to 5 of at least 5" in first and ">Last<" not in first
    seen, url = [], "/inbox?sort=client&per_page=5"
    while url:
        html = client.get(url).text
        seen += inbox_clients(html)
        links = re.findall(r'href="(/inbox\?[^"]+)" rel="next"', html)
        url = links[0].replace("&amp;", "&") if links else ""
    assert seen == everyone and len(everyone) == 22
    api, headers = api_client(world, "sg_caseworker")
    body = api.get("/api/v1/tasks?limit=5&sort=client", headers=headers).json
    assert "role" in body["over"] and body["over"] == sorted(body["over"])
    assert body["total_over"] is True and body["counts"]["role"] == 5
    ids: list[str] = []
    offset: int | None = 0
    while offset is not None:
        body = api.get(f"/api/v1/tasks?limit=5&offset={offset}&sort=client",
                       headers=headers).json
        ids += [task["id"] for task in body["tasks"]]
        offset = body["next_offset"]
    assert len(ids) == 22 == len(set(ids))
