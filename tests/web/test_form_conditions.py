"""`required_when` through the caseworker's web form and the JSON API: a missing answer is
refused naming the field while the condition holds, accepted while it does not (issue 15)."""

from __future__ import annotations

import pytest

from dsl import compile_pathway, load_pathway
from tests.web.conftest import Site
from tests.web.test_pages import World, build_world, field_block, token

API = "/api/v1"
HOUSING = """
pathway: housing_offer
title: Housing offer
organisation: st_giles_trust
roles:
  worker: {title: Worker, organisations: [st_giles_trust]}
steps:
  - task: offer
    role: worker
    title: Tenancy offer
    form:
      offer_accepted: {type: boolean, required: true, title: Offer accepted}
      move_in_date: {type: date, required_when: offer_accepted, title: Move-in date}
      rent: {type: number, title: Weekly rent}
  - end: done
    reason: completed
"""


@pytest.fixture
def world(site: Site) -> World:
    world = build_world(site)
    compiled = compile_pathway(load_pathway(HOUSING, "housing_offer.yaml"))
    world.application.engine.publish(compiled.files(), compiled.bpmn_file)
    return world


def offer_task(world: World, name: str) -> str:
    application = world.application
    client = application.casework.add_client(world.user("sg_caseworker"), name, {})
    assert client.id is not None
    view = application.engine.start_case("housing_offer", client.id)
    return view.tasks[0].task.id


def test_the_web_form_says_when_a_field_is_required(world: World) -> None:
    task = offer_task(world, "Hal Moore")
    page = world.client("sg_caseworker").get(f"/tasks/{task}")
    assert page.status_code == 200
    block = field_block(page.text, "move_in_date")
    assert "Required when: offer accepted" in block
    assert 'class="req"' not in block  # not always required


def test_the_web_form_refuses_a_missing_answer_while_the_condition_holds(
        world: World) -> None:
    task = offer_task(world, "Hal Moore")
    client = world.client("sg_caseworker")
    csrf = token(client, f"/tasks/{task}")
    page = client.post(f"/tasks/{task}", data={"offer_accepted": "true", "csrf_token": csrf,
                                               "action": "complete"})
    assert page.status_code == 422
    assert "this field is required when offer accepted" in field_block(page.text,
                                                                       "move_in_date")
    assert world.open_task(task) is not None
    # named in the same round as an answer the form cannot read
    page = client.post(f"/tasks/{task}", data={"offer_accepted": "true", "rent": "lots",
                                               "csrf_token": csrf, "action": "complete"})
    assert page.status_code == 422
    assert "enter a number" in field_block(page.text, "rent")
    assert "this field is required when offer accepted" in field_block(page.text,
                                                                       "move_in_date")
    done = client.post(f"/tasks/{task}", data={"offer_accepted": "false", "csrf_token": csrf,
                                               "action": "complete"})
    assert done.status_code == 302
    assert world.open_task(task) is None


def test_the_api_refuses_a_missing_answer_while_the_condition_holds(world: World) -> None:
    task = offer_task(world, "Ida Moore")
    plain = world.application.accounts.issue_token("sg_caseworker", "tests")[1]
    headers = {"Authorization": f"Bearer {plain}"}
    http = world.app_site.client()
    refused = http.post(f"{API}/tasks/{task}/complete", headers=headers,
                        json={"data": {"offer_accepted": True}})
    assert refused.status_code == 422, refused.text
    error = refused.json["error"]  # type: ignore[index]
    assert error["code"] == "invalid_data"
    assert error["details"]["fields"] == {
        "move_in_date": ["this field is required when offer accepted"]}
    assert world.open_task(task) is not None
    accepted = http.post(f"{API}/tasks/{task}/complete", headers=headers,
                         json={"data": {"offer_accepted": True, "move_in_date": "2026-04-01"}})
    assert accepted.status_code == 200, accepted.text
    assert world.open_task(task) is None


SCORED = """
pathway: scored
title: Scored
organisation: st_giles_trust
roles:
  worker: {title: Worker, organisations: [st_giles_trust]}
steps:
  - task: intake
    role: worker
    title: Intake
    form:
      baseline: {type: integer, required: true}
  - task: assess
    role: worker
    title: Assess
    form:
      q1: {type: integer, required: true}
      change: {type: integer, computed: baseline - q1, title: Change since intake}
      doubled: {type: integer, computed: baseline * 2, title: Baseline doubled}
"""


def scored_task(world: World, name: str) -> tuple[int, str]:
    compiled = compile_pathway(load_pathway(SCORED, "scored.yaml"))
    application = world.application
    application.engine.publish(compiled.files(), compiled.bpmn_file)
    client = application.casework.add_client(world.user("sg_caseworker"), name, {})
    assert client.id is not None
    first = application.engine.start_case("scored", client.id).tasks[0].task.id
    done = application.engine.complete_task(first, {"baseline": 12})
    return done.case_id, done.tasks[0].task.id


def test_a_computed_field_is_shown_read_only_and_worked_out_on_completion(
        world: World) -> None:
    case_id, task = scored_task(world, "Jo Moore")
    client = world.client("sg_caseworker")
    page = client.get(f"/tasks/{task}")
    doubled = field_block(page.text, "doubled")
    assert 'id="input-doubled" value="24" readonly' in doubled
    assert 'name="doubled"' not in page.text
    change = field_block(page.text, "change")  # reads an answer not yet given
    assert "Worked out for you when the task is completed" in change
    csrf = token(client, f"/tasks/{task}")
    done = client.post(f"/tasks/{task}", data={"q1": "5", "change": "99", "csrf_token": csrf,
                                               "action": "complete"})
    assert done.status_code == 302  # a value posted for it is never read
    case = world.application.engine.get_case(case_id).case
    assert (case.data["change"], case.data["doubled"]) == (7, 24)


def test_the_api_refuses_a_value_for_a_computed_field(world: World) -> None:
    _, task = scored_task(world, "Kit Moore")
    plain = world.application.accounts.issue_token("sg_caseworker", "tests")[1]
    headers = {"Authorization": f"Bearer {plain}"}
    http = world.app_site.client()
    drafted = http.put(f"{API}/tasks/{task}/draft", headers=headers,
                       json={"data": {"doubled": 1, "change": 99}})
    assert drafted.status_code == 200, drafted.text
    shown = http.get(f"{API}/tasks/{task}", headers=headers)
    assert shown.status_code == 200, shown.text
    values = shown.json["values"]  # type: ignore[index]
    assert values["doubled"] == 24 and "change" not in values  # never the draft's
    refused = http.post(f"{API}/tasks/{task}/complete", headers=headers,
                        json={"data": {"q1": 5, "change": 99}})
    assert refused.status_code == 422, refused.text
    assert refused.json["error"]["details"]["fields"] == {  # type: ignore[index]
        "change": ["this field is computed, not entered: leave it out of the submission"]}
    accepted = http.post(f"{API}/tasks/{task}/complete", headers=headers,
                         json={"data": {"q1": 5}})
    assert accepted.status_code == 200, accepted.text
