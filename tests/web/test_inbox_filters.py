"""The inbox in the words people see (issue 18, items 4 and 8): pathway and step filters are
choices showing titles (their values stay the ids, so addresses and the API keep working), a
filter that names nothing is told at its field on the inbox page with the form kept, the
client's number tells two clients of one name apart, saved filters per user, and a team
lead's bulk reassignment does what it can and lists what it could not, filters kept."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.web.conftest import csrf_token
from tests.web.test_pages import World, flashes, inbox_clients, token, world  # noqa: F401


def select_block(html: str, name: str) -> str:
    start = html.index(f'<select name="{name}"')
    return html[start:html.index("</select>", start)]


def test_pathway_and_step_filters_are_choices_showing_titles(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    page = client.get("/inbox").text
    pathways = select_block(page, "pathway")
    assert ('<option value="gate_reception">Gate reception (Peterborough One Service)'
            '</option>') in pathways  # the pathway's title (issue 18, item 7)
    steps = select_block(page, "step")
    assert '<option value="needs_assessment">Needs assessment</option>' in steps
    # grouped by pathway while none is chosen
    assert 'label="Gate reception (Peterborough One Service)"' in steps
    chosen = client.get("/inbox?pathway=gate_reception").text
    assert '<option value="gate_reception" selected>' in select_block(chosen, "pathway")
    only = select_block(chosen, "step")
    assert "Needs assessment" in only and "optgroup" not in only
    assert "family_support" not in only  # the chosen pathway's steps only
    kept = client.get("/inbox?step=needs_assessment").text
    assert '<option value="needs_assessment" selected>' in select_block(kept, "step")


def test_titles_typed_as_shown_find_the_tasks(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    for query in ("pathway=gate+reception", "step=Needs+assessment",
                  "pathway=Gate+Reception&step=needs+assessment"):
        page = client.get(f"/inbox?{query}")
        assert page.status_code == 200, (query, page.text[:400])
        assert sorted(inbox_clients(page.text)) == ["Aaron Smith", "Ben Jones"], query
    # the API keeps taking ids
    plain = world.application.accounts.issue_token("sg_caseworker", "tests")[1]
    api = world.app_site.client().get("/api/v1/tasks?pathway=gate_reception&step="
                                      "needs_assessment",
                                      headers={"Authorization": f"Bearer {plain}"})
    assert api.status_code == 200 and len(api.json["tasks"]) == 2
    unknown = world.app_site.client().get("/api/v1/tasks?pathway=nonesuch",
                                          headers={"Authorization": f"Bearer {plain}"})
    assert unknown.status_code == 400
    assert set(unknown.json["error"]["details"]["fields"]) == {"pathway"}


def field_problem(html: str, name: str) -> str:
    """The message shown at the filter field `name`."""
    found = re.search(rf'id="{name}-problem"[^>]*>([^<]+)<', html)
    assert found, html[:2000]
    return found[1]


def test_a_filter_naming_nothing_is_told_at_its_field_with_the_form_kept(
        world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    cases = {
        "version=abc": ("version", "whole number"),
        "pathway=nonsense": ("pathway", "no pathway"),
        "step=nonsense": ("step", "no step"),
        "pathway=gate_reception&version=7": ("version", "no version 7"),
        "data=no-equals-sign": ("data", "write it as field=value"),
        "data=risk_level%3Dhigh,+oops": ("data", "write it as field=value"),
    }
    for query, (field, words) in cases.items():
        page = client.get(f"/inbox?{query}&sort=client&overdue=yes")
        assert page.status_code == 400, query
        assert '<form class="filters"' in page.text, query  # the inbox, not an error page
        assert words in field_problem(page.text, field), (query, page.text[:3000])
        assert '<option value="client" selected>' in page.text  # the rest kept
        assert '<option value="yes" selected>' in page.text
    page = client.get("/inbox?data=no-equals-sign").text
    assert 'name="data" value="no-equals-sign"' in page  # nothing typed is lost
    assert 'aria-describedby="data-problem"' in page
    assert 'name="version" value="abc"' in client.get("/inbox?version=abc").text


def test_the_client_number_tells_two_clients_of_one_name_apart(world: World) -> None:  # noqa: F811
    other, _task = world.new_client("sg", "Aaron Smith")
    page = world.client("sg_caseworker").get("/inbox?sort=client").text
    assert "<th>Client no.</th>" in page
    numbers = re.findall(r'<td class="number" data-label="Client no.">(\d+)</td>', page)
    assert str(world.clients["aaron"]) in numbers and str(other) in numbers


def test_bulk_reassign_does_what_it_can_and_lists_the_rest(world: World) -> None:  # noqa: F811
    lead = world.client("sg_team_lead")
    back = "/inbox?pathway=gate_reception&sort=client"
    csrf = token(lead, back)
    done = lead.post("/inbox/reassign", data={
        "csrf_token": csrf, "task": [world.tasks["aaron"], world.tasks["cara"]],
        "to": "sg_caseworker", "back": back})
    assert done.status_code == 302 and done.location == back  # the filters kept
    assert world.open_task(world.tasks["aaron"]).assignee == "sg_caseworker"  # type: ignore[union-attr]
    assert world.open_task(world.tasks["cara"]).assignee is None  # type: ignore[union-attr]
    shown = lead.get(back).text
    assert "1 task(s) assigned to St Giles Trust caseworker." in flashes(shown)
    assert f"Not reassigned: task {world.tasks['cara']}: not found" in shown
    designer = lead.post("/inbox/reassign", data={
        "csrf_token": csrf, "task": [world.tasks["ben"]], "to": "sg_designer", "back": back})
    assert designer.status_code == 302 and designer.location == back
    assert "sg_designer may not do it" in lead.get(back).text
    nobody = lead.post("/inbox/reassign", data={
        "csrf_token": csrf, "task": [world.tasks["ben"]], "to": "om_caseworker",
        "back": back})
    assert nobody.status_code == 302 and nobody.location == back
    assert "no active user &#39;om_caseworker&#39; in your organisation" in lead.get(back).text
    assert world.open_task(world.tasks["ben"]).assignee is None  # type: ignore[union-attr]
    outside = lead.post("/inbox/reassign", data={
        "csrf_token": csrf, "task": [world.tasks["ben"]], "to": "", "back": "https://x.example/"})
    assert outside.location.startswith("/") and not outside.location.startswith("//")


def test_saved_filters_are_each_users_own(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    query = urlencode({"pathway": "gate_reception", "sort": "client", "overdue": "yes"})
    csrf = token(client, f"/inbox?{query}")
    saved = client.post("/inbox/filters", data={"csrf_token": csrf, "name": "Late gate",
                                                "query": query})
    assert saved.status_code == 302 and saved.location == f"/inbox?{query}"
    page = client.get("/inbox").text
    assert f'href="/inbox?{query.replace("&", "&amp;")}">Late gate</a>' in page
    assert "Late gate" not in world.client("sg_team_lead").get("/inbox").text
    blank = client.post("/inbox/filters", data={"csrf_token": csrf, "name": " ",
                                                "query": query})
    assert blank.status_code == 400 and "name the filter" in blank.text
    assert '<form class="filters"' in blank.text
    found = re.search(r'action="(/inbox/filters/(\d+)/delete)"', page)
    assert found
    other = world.client("sg_team_lead")
    refused = other.post(found[1], data={"csrf_token": token(other)})
    assert refused.status_code == 404
    assert "Late gate" in client.get("/inbox").text
    gone = client.post(found[1], data={"csrf_token": csrf})
    assert gone.status_code == 302
    assert "Late gate" not in client.get("/inbox").text
    unsigned = client.post("/inbox/filters", data={"name": "x", "query": "scope=mine"})
    assert unsigned.status_code == 400  # no CSRF token: refused
    assert "Late gate" not in client.get("/inbox").text


def test_the_filter_form_and_saved_filters_show_csrf(world: World) -> None:  # noqa: F811
    page = world.client("sg_caseworker").get("/inbox").text
    start = page.index('action="/inbox/filters"')
    assert csrf_token(page[start:]) != ""


def test_my_drafts_lists_the_tasks_with_a_draft_of_mine(world: World) -> None:  # noqa: F811
    world.application.casework.save_draft(world.user("sg_caseworker"), world.tasks["aaron"],
                                          {"notes": "half done"})
    client = world.client("sg_caseworker")
    page = client.get("/inbox")
    assert 'href="/inbox?drafts=mine"' in page.text  # the "My drafts" tab
    mine = client.get("/inbox?drafts=mine")
    assert mine.status_code == 200 and inbox_clients(mine.text) == ["Aaron Smith"]
    assert 'name="drafts" value="mine" checked' in mine.text
    lead = world.client("sg_team_lead").get("/inbox?drafts=mine")
    assert inbox_clients(lead.text) == []  # someone else's draft is not "mine"
    bad = client.get("/inbox?drafts=everyone")
    assert bad.status_code == 400 and "drafts" in field_problem(bad.text, "drafts")
