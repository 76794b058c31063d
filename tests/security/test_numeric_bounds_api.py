"""Every number a person types is bounded before anything computes with it (issue 10, item 5).

API bodies and query strings, task form fields (web and API), CLI options and CSV imports:
4,300-digit integers, 1e400, Infinity and NaN (which Python's json accepts by default) are
refused with a 4xx or a clear error, quickly, and nothing is written. On SQLite and PostgreSQL.
(The dashboard's numbers are tested with the dashboard.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine.errors import FormValidationError, InvalidArgumentError
from engine.model import User
from engine.numbers import MAX_JSON_INT, number_problem
from engine.text import parse_json
from tests.bpmn_text import one_form_task
from tests.e2e.test_cli import Cli
from tests.web.conftest import PASSWORD, Site, csrf_token, sign_in, site  # noqa: F401

BUDGET_SECONDS = 2.0
API = "/api/v1"

FORM = {"type": "object", "properties": {
    "count": {"type": "integer", "title": "Count"},
    "amount": {"type": "number", "title": "Amount"},
    "notes": {"type": "object"},
}}
BPMN = one_form_task("counted", "count_things", "counted.form.json", process_title="Counted",
                     task_title="Count things")

HUGE = "9" * 4300
# JSON texts of numbers Python's json module would turn into something dangerous
BAD_JSON_NUMBERS = {
    "digits_4300": HUGE, "digits_5000": "1" + "0" * 5000, "digits_19": "1" + "0" * 18,
    "exp_400": "1e400", "neg_exp_400": "-1e400", "exp_huge": "1E+999999999",
    "infinity": "Infinity", "neg_infinity": "-Infinity", "nan": "NaN",
    "long_float": "1." + "1" * 100,
}
# what a person might type into a number field of a web form
BAD_TYPED = ["9" * 5000, "9" * 19, "1e400", "1E+999999999", "inf", "-Infinity", "nan",
             "1" + "0" * 4299, "0x10", "1.2.3"]


@dataclass
class World:
    site: Site
    user: User
    token: str
    client_id: int
    task_id: str
    events_before: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def http(self) -> FlaskClient:
        return self.site.client()

    def api(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http().open(API + path, method=method, headers=headers, **kwargs)

    def state(self) -> tuple[int, int, bool, int, bool]:
        """(events of the case, clients, task still open, outcome events, draft saved):
        what a refused request must leave as it was."""
        outcomes = len(self.site.application.outcomes.events())
        uow_factory = SqlAlchemyUnitOfWorkFactory(self.site.application.database)
        with uow_factory() as uow:
            task = uow.inbox.get(self.task_id)
            return (len(uow.events.list(self.extra["case_id"])), len(uow.clients.list()),
                    task is not None, outcomes,
                    uow.drafts.get(self.task_id, self.user.username) is not None)


@pytest.fixture
def world(site: Site) -> World:  # noqa: F811 - the fixture
    application = site.application
    application.engine.publish({"counted.bpmn": BPMN, "counted.form.json": json.dumps(FORM)},
                               "counted.bpmn")
    application.accounts.add_organisation("sg", "St Giles Trust")
    user = application.accounts.add_user("amy", "Amy", "sg", "caseworker", PASSWORD)
    token = application.accounts.issue_token("amy", "tests")[1]
    client = application.casework.add_client(user, "Sam Smith", {})
    assert client.id is not None
    view = application.engine.start_case("counted", client.id, actor="amy")
    world = World(site, user, token, client.id, view.tasks[0].task.id)
    world.extra["case_id"] = view.case.id
    return world


def _quick(call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = call()
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.1f}s"
    return result


# -- engine.numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BAD_JSON_NUMBERS))
def test_strict_json_refuses_each_dangerous_number(name: str) -> None:
    text = f'{{"n": {BAD_JSON_NUMBERS[name]}}}'
    with pytest.raises(InvalidArgumentError) as refused:
        _quick(lambda: parse_json(text))
    assert "(body)" in refused.value.details["fields"]
    if name in ("infinity", "neg_infinity", "nan"):  # not JSON at all: malformed, as such
        assert refused.value.details["fields"]["(body)"] == ["is not valid JSON"]


def test_strict_json_keeps_ordinary_numbers() -> None:
    assert parse_json('{"a": 1, "b": -2.5, "c": [999999999999999999, 1e10], "d": true}',
                      field="x") == {"a": 1, "b": -2.5, "c": [MAX_JSON_INT, 1e10], "d": True}


@pytest.mark.parametrize("value", [10 ** 5000, -(10 ** 19), float("inf"), float("nan"),
                                   1e308 * 10, 1e300],
                         ids=["int_5000", "int_19", "inf", "nan", "overflow", "float_1e300"])
def test_number_problem_names_out_of_range_values(value: Any) -> None:
    assert number_problem(value) is not None


@pytest.mark.parametrize("value", [0, -5, 10 ** 15, 2.5, True, "text", None])
def test_number_problem_accepts_ordinary_values(value: Any) -> None:
    assert number_problem(value) is None


# -- the engine: every adapter's submissions ------------------------------------------------


@pytest.mark.parametrize("data", [{"count": 10 ** 5000}, {"amount": 1e308 * 10},
                                  {"amount": float("nan")}, {"count": -(10 ** 19)},
                                  {"notes": {"deep": [1, 10 ** 100]}}],
                         ids=["int_5000_digits", "overflow", "nan", "int_19_digits", "nested"])
def test_the_engine_refuses_out_of_range_numbers_in_task_data(world: World,
                                                              data: dict[str, Any]) -> None:
    before = world.state()
    with pytest.raises(FormValidationError) as refused:
        _quick(lambda: world.site.application.engine.complete_task(world.task_id, data,
                                                                   actor="amy"))
    assert refused.value.fields
    assert world.state() == before


# -- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BAD_JSON_NUMBERS))
def test_api_bodies_with_dangerous_numbers_are_400_and_write_nothing(world: World,
                                                                     name: str) -> None:
    number = BAD_JSON_NUMBERS[name]
    before = world.state()
    for method, path, body in (
            ("POST", f"/tasks/{world.task_id}/complete", f'{{"data": {{"count": {number}}}}}'),
            ("PUT", f"/tasks/{world.task_id}/draft", f'{{"data": {{"amount": {number}}}}}'),
            ("POST", "/clients", f'{{"name": "Eve", "fields": {{"age": {number}}}}}')):
        response = _quick(lambda: world.api(method, path, data=body,  # noqa: B023
                                            content_type="application/json"))
        assert response.status_code == 400, (path, response.text)
        assert response.json["error"]["code"] == "invalid_argument", response.text
    assert world.state() == before


def test_api_completion_with_an_out_of_range_float_is_refused(world: World) -> None:
    """1e300 is finite JSON, but no form value is that large."""
    before = world.state()
    response = _quick(lambda: world.api("POST", f"/tasks/{world.task_id}/complete",
                                        json={"data": {"amount": 1e300}}))
    assert response.status_code == 422, response.text
    assert "amount" in response.json["error"]["details"]["fields"]
    assert world.state() == before


@pytest.mark.parametrize("query", [
    "version=" + "9" * 30, "client=" + "9" * 4300, "version=1E%2B999999999",
    "client=1e400", "version=-1", "version=2147483648", "client=Infinity", "version=0x10",
], ids=lambda query: query[:24])
def test_api_query_numbers_are_bounded(world: World, query: str) -> None:
    response = _quick(lambda: world.api("GET", f"/tasks?{query}"))
    assert response.status_code == 400, response.text
    fields = response.json["error"]["details"]["fields"]
    assert set(fields) & {"version", "client"}, fields


def test_api_accepts_ordinary_numbers(world: World) -> None:
    assert world.api("GET", "/tasks?version=1&client=1").status_code == 200
    done = world.api("POST", f"/tasks/{world.task_id}/complete",
                     json={"data": {"count": 12, "amount": 3.75}})
    assert done.status_code == 200, done.text


# -- web forms -------------------------------------------------------------------------------


def _post_task(world: World, client: FlaskClient, form: dict[str, str]) -> TestResponse:
    page = client.get(f"/tasks/{world.task_id}")
    assert page.status_code == 200, page.text
    return client.post(f"/tasks/{world.task_id}",
                       data={**form, "csrf_token": csrf_token(page.text)})


@pytest.mark.parametrize("typed", BAD_TYPED, ids=lambda text: text[:12] + f"_{len(text)}")
def test_web_task_form_numbers_are_bounded(world: World, typed: str) -> None:
    client = world.http()
    sign_in(client, "amy")
    before = world.state()
    for name in ("count", "amount"):
        response = _quick(lambda: _post_task(world, client, {name: typed}))  # noqa: B023
        assert response.status_code in (200, 400, 422), response.text  # the form again
        assert 'class="error' in response.text or "enter a" in response.text, response.text
    assert world.state() == before


def test_web_task_form_accepts_ordinary_numbers(world: World) -> None:
    client = world.http()
    sign_in(client, "amy")
    response = _post_task(world, client, {"count": "12", "amount": "1,234.5"})
    assert response.status_code == 302, response.text
    with SqlAlchemyUnitOfWorkFactory(world.site.application.database)() as uow:
        case = uow.cases.get(world.extra["case_id"])
        assert case.data["count"] == 12 and case.data["amount"] == 1234.5


@pytest.mark.parametrize("query", ["version=" + "9" * 30, "client=1e400", "client=-3"])
def test_web_inbox_query_numbers_are_bounded(world: World, query: str) -> None:
    client = world.http()
    sign_in(client, "amy")
    response = _quick(lambda: client.get(f"/inbox?{query}"))
    assert response.status_code == 400, response.text


# -- CSV imports -----------------------------------------------------------------------------


@pytest.mark.parametrize("row", ids=lambda row: row[:12] + f"_{len(row)}", argvalues=[
    "99999999999999999999999,employed,2026-01-05,1", f"{HUGE},employed,2026-01-05,1",
    "²,employed,2026-01-05,1", "1,employed,2026-01-05,1e400", "1,employed,2026-01-05,-1E+999",
    f"1,employed,2026-01-05,{HUGE}",
])
def test_outcome_csv_numbers_are_bounded(world: World, row: str) -> None:
    before = world.state()
    data = f"client,outcome,date,value\n{row}\n".encode()
    report = _quick(lambda: world.site.application.outcomes.import_csv("o.csv", data, "other"))
    assert report.imported == 0 and report.errors, report
    assert world.state() == before


def test_outcome_csv_keeps_ordinary_values(world: World) -> None:
    """Numbers within bounds are numbers; NaN (not JSON) is kept as the text it is."""
    data = (f"client,outcome,date,value\n{world.client_id},employed,2026-01-05,2.5\n"
            f"{world.client_id},housed,2026-01-05,NaN\n").encode()
    report = world.site.application.outcomes.import_csv("o.csv", data, "other")
    assert report.imported == 2 and not report.errors, report
    values = {e.kind: e.detail["value"] for e in world.site.application.outcomes.events()}
    assert values == {"employed": 2.5, "housed": "NaN"}


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_number_options_are_bounded(cli: Cli) -> None:
    client = cli.json("clients", "add", "--name", "Sam")
    calls = [
        ("cases", "show", "9" * 30), ("events", "1" + "0" * 4300),
        ("cases", "start", "gate_reception", "--client", "1e400"),
        ("worker", "--interval", "1e400", "--rounds", "1"),
        ("outcomes", "comparison", "--per-100", "Infinity"),
        ("allocate", "intake", "--split", f"1={HUGE}"),
        ("clients", "add", "--name", "Eve", "--field", "age=1e400"),
        ("tasks", "complete", "x", "--data", '{"count": 1e400}'),
        ("tasks", "complete", "x", "--data", '{"count": NaN}'),
        ("tasks", "complete", "x", "--data", f'{{"count": {HUGE}}}'),
    ]
    outcomes = []
    for start in range(0, len(calls), 3):
        started = time.monotonic()
        outcomes += cli.many(*calls[start:start + 3])
        assert time.monotonic() - started < 100
    for outcome in outcomes:
        assert outcome.returncode != 0, outcome
        assert "Traceback" not in outcome.stderr, outcome.stderr
        text = outcome.stdout + outcome.stderr
        assert any(word in text for word in ("between", "digits", "number", "not JSON",
                                             "not valid JSON",
                                             "too large", "more than")), text
    assert [c["id"] for c in cli.json("clients", "list")] == [client["id"]]
