"""What a load balancer, Prometheus and a log pipeline get from a web node (web.observability):
/healthz, /readyz, /metrics and its access rules, request ids, and JSON log lines. On SQLite
and PostgreSQL (the `site` fixture), and on databases that cannot be used."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from adapters import logs
from adapters.bootstrap import Application, bootstrap
from adapters.settings import Settings
from dsl import compile_pathway
from tests.incident_bundles import dated_wait
from tests.unit.engine.fakes import FakeClock
from tests.web.conftest import CHEAP_HASHER, PASSWORD, Site, csrf_token, force_sign_in
from tests.web.test_pages import NEEDS_ASSESSMENT, World, build_world
from web import create_app
from web.security import limiter

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
REMOTE = {"REMOTE_ADDR": "203.0.113.7"}  # an address on the internet (TEST-NET-3)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: FlaskClient, **kwargs: Any) -> Samples:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site)


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """JSON log lines from INFO up while the test runs; call it for the lines so far."""
    level = logging.getLogger().level
    logs.configure("json", "info")

    def lines() -> list[dict[str, Any]]:
        captured = capsys.readouterr().err
        return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]

    try:
        yield lines
    finally:
        logs.configure(None)
        logging.getLogger().setLevel(level)


def app_on(url: str, tmp_path: Path, **settings: Any) -> tuple[FlaskClient, Application]:
    application = bootstrap(Settings(database_url=url, secret_key="test-secret",
                                     definitions_dir=tmp_path / "none", **settings),
                            hasher=CHEAP_HASHER, migrate=False)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    return app.test_client(), application


# -- probes ------------------------------------------------------------------------------


def test_a_live_and_ready_node(site: Site) -> None:
    client = site.client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ready"}


@pytest.mark.parametrize("url", ["garbage", UNREACHABLE])
def test_a_database_it_cannot_use_is_live_but_not_ready(url: str, tmp_path: Path) -> None:
    if url == "garbage":
        garbage = tmp_path / "garbage.sqlite"
        garbage.write_bytes(b"this is not a SQLite database at all" * 100)
        url = f"sqlite:///{garbage}"
    client, application = app_on(url, tmp_path)
    try:
        assert client.get("/healthz").status_code == 200  # never touches the database
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json is not None
        assert ready.json["status"] == "unavailable"
        assert ready.json["reason"].startswith("the database cannot be used (")
        assert "nobody" not in ready.text and "127.0.0.1" not in ready.text
        samples = scrape(client)  # still answers: the backlog is said to be unreadable
        assert value(samples, "pathways_backlog_up") == 0
        assert ("pathways_due_timers", frozenset()) not in samples
    finally:
        application.close()


def test_not_ready_while_the_schema_is_not_this_codes(site: Site) -> None:
    database = site.application.database
    with database.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    try:
        ready = site.client().get("/readyz")
        assert ready.status_code == 503
        assert ready.json == {"status": "unavailable",
                              "reason": "the database schema is not at this code's revision"}
    finally:
        with database.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"),
                               {"head": head})
    assert site.client().get("/readyz").status_code == 200


def test_probes_need_no_sign_in_and_show_no_record(world: World) -> None:
    client = world.app_site.client()
    force_sign_in(client, world.app_site, "sg_admin")
    for path in ("/healthz", "/readyz", "/metrics"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Aaron" not in response.text and "sg_admin" not in response.text
    anonymous = world.app_site.client()
    assert [anonymous.get(p).status_code for p in ("/healthz", "/readyz", "/metrics")] == \
        [200, 200, 200]


# -- who may read /metrics -----------------------------------------------------------------


def test_without_a_token_metrics_answer_only_this_machine(site: Site) -> None:
    client = site.client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base=REMOTE)
    assert refused.status_code == 403 and refused.json is not None
    assert refused.json["error"]["code"] == "forbidden"
    assert "pathways_" not in refused.text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):  # a proxy on this machine
        forwarded = client.get("/metrics", headers={header: "203.0.113.7"})
        assert forwarded.status_code == 403, header


def test_with_a_token_metrics_answer_its_bearer_alone(tmp_path: Path,
                                                      migrated_database_url: str) -> None:
    client, application = app_on(migrated_database_url, tmp_path,
                                 metrics_token="s3cret-scrape-token")
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Basic s3cret-scrape-token"},
                        {"Authorization": "Bearer s3cret-scrape-token-longer"},
                        {"Authorization": "Bearer ünïcode"}):
            for environ in ({}, REMOTE):  # loopback is no exception once a token is set
                refused = client.get("/metrics", headers=headers, environ_base=environ)
                assert refused.status_code == 401, headers
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
                assert refused.json is not None
                assert refused.json["error"]["code"] == "unauthorized"
                assert "s3cret" not in refused.text
        allowed = {"Authorization": "Bearer s3cret-scrape-token"}
        assert value(scrape(client, headers=allowed, environ_base=REMOTE),
                     "pathways_backlog_up") == 1
    finally:
        application.close()


# -- what the metrics say ------------------------------------------------------------------


def test_a_completed_task_is_counted_and_timed(world: World) -> None:
    client = world.app_site.client()
    before = scrape(client)
    force_sign_in(client, world.app_site, "sg_caseworker")
    task = world.tasks["aaron"]
    token = csrf_token(client.get(f"/tasks/{task}").text)
    done = client.post(f"/tasks/{task}", data={"action": "complete", **NEEDS_ASSESSMENT,
                                                "csrf_token": token})
    assert done.status_code == 302, done.text
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("pathways_commands_total", kind="complete_task", outcome="ok") == 1
    assert grew("pathways_command_seconds_count", kind="complete_task") == 1
    assert grew("pathways_command_seconds_sum", kind="complete_task") > 0
    assert grew("pathways_step_seconds_count", outcome="ok") >= 1
    assert grew("pathways_http_requests_total", endpoint="casework.task", method="POST",
                status="302") == 1
    assert grew("pathways_http_requests_total", endpoint="casework.task", method="GET",
                status="200") == 1
    assert grew("pathways_http_request_seconds_count", endpoint="casework.task") == 2


def test_a_refused_command_is_counted_with_its_error_code(world: World) -> None:
    client = world.app_site.client()
    before = scrape(client)
    with pytest.raises(Exception, match="no case"):
        world.application.engine.cancel_case(999999, reason="gone")
    after = scrape(client)
    labels = {"kind": "cancel_case", "outcome": "not_found"}
    assert value(after, "pathways_commands_total", **labels) - \
        value(before, "pathways_commands_total", **labels) == 1


def test_labels_name_no_client_case_or_user(world: World) -> None:
    client = world.app_site.client()
    force_sign_in(client, world.app_site, "sg_caseworker")
    client.get(f"/clients/{world.clients['aaron']}")
    client.get(f"/tasks/{world.tasks['ben']}")
    client.get("/no/such/page/Aaron")
    response = client.get("/metrics")
    labelled = "\n".join(line for line in response.text.splitlines()
                         if line.startswith("pathways_"))
    assert 'endpoint="unmatched"' in labelled
    for secret in ("Aaron", "Smith", "sg_caseworker", world.tasks["ben"],
                   f'"{world.clients["aaron"]}"'):
        assert secret not in labelled, secret


def test_due_timers_and_the_workers_lag(migrated_database_url: str, tmp_path: Path,
                                        clock: FakeClock) -> None:
    settings = Settings(database_url=migrated_database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "none")
    application = bootstrap(settings, hasher=CHEAP_HASHER, clock=clock)
    client = create_app(application, test_config={"TESTING": True}).test_client()
    try:
        engine = application.engine
        compiled = compile_pathway(dated_wait())
        engine.publish(compiled.files(), compiled.bpmn_file)
        released = (clock.now() + timedelta(days=1)).date().isoformat()
        client_id = engine.add_client("Due Client", {"release_date": released}).id
        assert client_id is not None
        view = engine.start_case("dated_wait", client_id)
        engine.complete_task(view.tasks[0].task.id, {"notes": "seen"})
        samples = scrape(client)
        assert value(samples, "pathways_due_timers") == 0  # due tomorrow
        assert value(samples, "pathways_worker_lag_seconds") == 0

        clock.advance(days=3)  # and no worker ran
        samples = scrape(client)
        assert value(samples, "pathways_due_timers") == 1
        assert 24 * 3600 < value(samples, "pathways_worker_lag_seconds") < 3 * 24 * 3600

        assert engine.fire_due_timers() == 1
        samples = scrape(client)
        assert value(samples, "pathways_due_timers") == 0
        assert value(samples, "pathways_worker_lag_seconds") == 0
    finally:
        application.close()


# -- request ids and log lines --------------------------------------------------------------


def test_a_request_id_is_echoed_or_made(site: Site) -> None:
    client = site.client()
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1:2_x"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.1:2_x"
    for bad in ("two words", "x" * 129, "<script>", "é"):
        made = client.get("/healthz", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"]), bad
    first, second = client.get("/login"), client.get("/login")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_each_request_is_one_json_line(world: World, json_lines: Any) -> None:
    client = world.app_site.client()
    force_sign_in(client, world.app_site, "sg_caseworker")
    task = world.tasks["aaron"]
    token = csrf_token(client.get(f"/tasks/{task}").text)
    open_task = world.open_task(task)
    assert open_task is not None
    json_lines()
    done = client.post(f"/tasks/{task}", headers={"X-Request-ID": "req-42"},
                       data={"action": "complete", **NEEDS_ASSESSMENT, "csrf_token": token})
    assert done.status_code == 302 and done.headers["X-Request-ID"] == "req-42"
    lines = json_lines()
    access = [line for line in lines if line["logger"] == "pathways.requests"]
    assert len(access) == 1, lines
    line = access[0]
    assert line["request_id"] == "req-42" and line["user"] == "sg_caseworker"
    assert line["case"] == open_task.case_id  # the case the command ran on
    assert line["method"] == "POST" and line["path"] == f"/tasks/{task}"
    assert line["status"] == 302 and line["duration_ms"] > 0
    assert line["level"] == "info" and line["message"] == f"POST /tasks/{task} 302"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "Seen in HMP" not in json.dumps(lines)  # the form's answers are never logged


def test_a_case_in_the_address_is_the_lines_case(world: World, json_lines: Any) -> None:
    client = world.app_site.client()
    token = csrf_token(client.get("/login").text)
    force_sign_in(client, world.app_site, "sg_team_lead")
    json_lines()
    client.post("/admin/incidents/424242/retry", data={"csrf_token": token})
    line = [x for x in json_lines() if x["logger"] == "pathways.requests"][-1]
    assert line["case"] == 424242 and line["user"] == "sg_team_lead"


def test_a_sign_in_is_logged_without_its_password(world: World, json_lines: Any) -> None:
    client = world.app_site.client()
    token = csrf_token(client.get("/login").text)
    json_lines()
    for password in ("Wr0ng-but-Secret!", PASSWORD):
        client.post("/login", data={"username": "sg_caseworker", "password": password,
                                    "csrf_token": token})
    lines = json_lines()
    statuses = [x["status"] for x in lines if x["logger"] == "pathways.requests"]
    assert statuses == [401, 302], lines
    everything = json.dumps(lines)
    assert PASSWORD not in everything and "Wr0ng-but-Secret!" not in everything
    assert token not in everything


def test_probes_are_quiet_at_info(site: Site, json_lines: Any) -> None:
    client = site.client()
    json_lines()
    client.get("/healthz")
    client.get("/readyz")
    client.get("/metrics")
    client.get("/metrics", environ_base=REMOTE)  # a refusal is worth a line
    lines = [x for x in json_lines() if x["logger"] == "pathways.requests"]
    assert [(x["path"], x["status"]) for x in lines] == [("/metrics", 403)]
