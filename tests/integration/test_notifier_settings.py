"""PATHWAYS_NOTIFIER chooses how `notify` steps reach people: wired by bootstrap, on real storage.

Before this setting bootstrap always wired the Null notifier, so a `notify` step could reach
no one whatever was configured. These tests go through Settings.from_env and bootstrap, the
path the CLI and the web take, and watch the notification arrive on the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import Application, bootstrap
from adapters.notifications import LOGGER_NAME, LoggingNotifier, NullNotifier, make_notifier
from adapters.settings import Settings
from dsl import compile_pathway, load_pathway
from engine.errors import InvalidArgumentError
from tests.pathway_texts import HANDOVER


def application(database_url: str, monkeypatch: pytest.MonkeyPatch,
                notifier: str | None) -> Application:
    if notifier is None:
        monkeypatch.delenv("PATHWAYS_NOTIFIER", raising=False)
    else:
        monkeypatch.setenv("PATHWAYS_NOTIFIER", notifier)
    return bootstrap(Settings.from_env(database_url))


def run_handover(app: Application) -> int:
    """Publish the pathway, start a case and complete the step before the notify step."""
    compiled = compile_pathway(load_pathway(HANDOVER, "handover.yaml"))
    app.engine.publish(compiled.files(), compiled.bpmn_file)
    client = app.engine.add_client("Sam")
    view = app.engine.start_case("handover", client.id or 0)
    app.engine.complete_task(view.tasks[0].task.id, {}, actor="amy")
    return view.case.id or 0


@pytest.fixture
def log_app(database_url: str, monkeypatch: pytest.MonkeyPatch,
            caplog: pytest.LogCaptureFixture) -> Iterator[Application]:
    """The application with PATHWAYS_NOTIFIER=log, its notifier's lines captured."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    app = application(database_url, monkeypatch, "log")
    try:
        yield app
    finally:
        app.close()


def notification_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]


def test_the_log_notifier_delivers_a_notify_step_to_the_log(
        log_app: Application, caplog: pytest.LogCaptureFixture) -> None:
    case_id = run_handover(log_app)
    assert notification_lines(caplog) == [
        f"notify manager about case {case_id} (step tell_manager): "
        "Client housed, please review"]
    assert [e.type for e in log_app.engine.events(case_id)].count("notification_requested") == 1


def test_by_default_nothing_is_sent_and_the_request_stays_on_the_event_log(
        database_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    app = application(database_url, monkeypatch, None)
    try:
        assert app.settings.notifier == "null"
        case_id = run_handover(app)
        assert notification_lines(caplog) == []
        requested = [e for e in app.engine.events(case_id) if e.type == "notification_requested"]
        assert [e.data for e in requested] == [
            {"to": "manager", "message": "Client housed, please review"}]
    finally:
        app.close()


CHASE = """
pathway: chase
title: Chase a missed contact
roles:
  worker: {title: Worker}
  team_lead: {title: Team lead}
steps:
  - wait: a_week
    for: P7D
  - notify: chase_lead
    to: team_lead
    message: No contact for a week
  - task: follow_up
    role: worker
    title: Follow up
"""


def test_a_notification_after_a_timer_reaches_the_log_when_the_timer_fires(
        log_app: Application, caplog: pytest.LogCaptureFixture) -> None:
    """The worker's path (timers run, the worker loop): nothing at start, one line when due."""
    compiled = compile_pathway(load_pathway(CHASE, "chase.yaml"))
    log_app.engine.publish(compiled.files(), compiled.bpmn_file)
    client = log_app.engine.add_client("Ann")
    case = log_app.engine.start_case("chase", client.id or 0).case
    assert notification_lines(caplog) == []
    assert log_app.engine.fire_due_timers(datetime.now(UTC) + timedelta(days=8)) == 1
    assert notification_lines(caplog) == [
        f"notify team_lead about case {case.id} (step chase_lead): No contact for a week"]


@pytest.mark.parametrize(("value", "kind"), [
    ("null", NullNotifier), ("log", LoggingNotifier), (" LOG ", LoggingNotifier),
    ("", NullNotifier)])
def test_the_setting_names_the_notifier(monkeypatch: pytest.MonkeyPatch, value: str,
                                        kind: type) -> None:
    monkeypatch.setenv("PATHWAYS_NOTIFIER", value)
    assert isinstance(make_notifier(Settings.from_env("sqlite://").notifier), kind)


@pytest.mark.parametrize("value", ["email", "nul", "logging"])
def test_an_unknown_notifier_is_refused_naming_the_choices(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PATHWAYS_NOTIFIER", value)
    with pytest.raises(InvalidArgumentError) as caught:
        Settings.from_env("sqlite://")
    assert f"PATHWAYS_NOTIFIER='{value}'" in str(caught.value)
    assert "log, null, smtp" in str(caught.value)
    with pytest.raises(InvalidArgumentError):
        make_notifier(value)
