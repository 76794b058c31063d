"""PATHWAYS_NOTIFIER=smtp: notifications as e-mail, checked on a local SMTP server (aiosmtpd)
the test starts, through Settings.from_env and bootstrap as the CLI and the web build them,
on real storage. A server that fails leaves a `notification_failed` event on the case."""

from __future__ import annotations

import json
import smtplib
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from adapters.bootstrap import Application, bootstrap
from adapters.settings import Settings
from adapters.smtp import DeliveryError, SmtpNotifier, SmtpSettings
from dsl import compile_pathway, load_pathway
from engine.errors import InvalidArgumentError
from engine.ports import Notification

VISITS = """\
pathway: visits
title: Home visits
organisation: hope
roles:
  keyworker: {title: Keyworker, organisations: [hope]}
  team_leader: {title: Team leader, organisations: [hope]}
steps:
  - task: visit
    role: keyworker
    title: Home visit
    due: P7D
    remind: {before: P2D, message: "Visit {client.name} by {due} (case {case})"}
    escalate: {after: P1D overdue, to: team_leader}
"""


class Inbox:
    """aiosmtpd's handler: keeps every message the server accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        if controller._thread is not None:  # a test may have stopped it
            controller.stop()


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        smtp_server: tuple[Controller, Inbox]) -> Iterator[Application]:
    book = tmp_path / "addresses.json"
    book.write_text(json.dumps({"kim": "kim@hope.example",
                                "team_leader": "leads@hope.example"}))
    for name, value in {"PATHWAYS_NOTIFIER": "smtp", "PATHWAYS_SMTP_HOST": "127.0.0.1",
                        "PATHWAYS_SMTP_PORT": str(smtp_server[0].port),
                        "PATHWAYS_SMTP_FROM": "pathways@hope.example",
                        "PATHWAYS_SMTP_STARTTLS": "false", "PATHWAYS_SMTP_ATTEMPTS": "2",
                        "PATHWAYS_SMTP_ADDRESSES": str(book)}.items():
        monkeypatch.setenv(name, value)
    application = bootstrap(Settings.from_env(database_url))
    application.accounts.add_organisation("hope", "Hope")
    application.accounts.add_user("kim", "Kim", "hope", "caseworker", "a long password 1",
                                  pathway_roles=["keyworker"])
    compiled = compile_pathway(load_pathway(VISITS, "visits.yaml"))
    application.engine.publish(compiled.files(), compiled.bpmn_file)
    try:
        yield application
    finally:
        application.close()


def start(app: Application) -> tuple[int, Any]:
    client = app.engine.add_client("Ada Lovelace")
    view = app.engine.start_case("visits", client.id or 0)
    return view.case.id or 0, view.tasks[0].task


def test_a_reminder_is_delivered_as_e_mail(app: Application,
                                           smtp_server: tuple[Controller, Inbox]) -> None:
    case_id, task = start(app)
    assert task.due is not None
    assert app.engine.fire_due_timers(task.due - timedelta(days=2)) == 1
    [(to, mail)] = smtp_server[1].received
    assert to == ["kim@hope.example"]
    assert mail["From"] == "pathways@hope.example"
    assert mail["Subject"] == "Reminder: Home visit"
    body = mail.get_payload(decode=True).decode()
    assert body.startswith(f"Visit Ada Lovelace by {task.due.date().isoformat()} "
                           f"(case {case_id})")
    # the case's log keeps the message as written: no client's name
    requested = [e for e in app.engine.events(case_id) if e.type == "notification_requested"]
    assert requested[0].data["message"] == "Visit {client.name} by {due} (case {case})"
    # the escalation goes to the team leaders' shared mailbox
    assert app.engine.fire_due_timers(task.due + timedelta(days=1)) == 1
    to, mail = smtp_server[1].received[1]
    assert to == ["leads@hope.example"] and mail["Subject"] == "Overdue: Home visit"


def test_a_failing_server_leaves_a_failure_on_the_case_not_silence(
        app: Application, smtp_server: tuple[Controller, Inbox]) -> None:
    case_id, task = start(app)
    smtp_server[0].stop()  # the server is gone: connections are refused
    assert task.due is not None
    assert app.engine.fire_due_timers(task.due - timedelta(days=2)) == 1
    [failed] = [e for e in app.engine.events(case_id) if e.type == "notification_failed"]
    assert failed.step == "visit_reminder"
    assert failed.data["recipients"] == ["kim"] and failed.data["kind"] == "reminder"
    assert "failed 2 time(s)" in failed.data["reason"]
    # the case is untouched and goes on: its events stay in order
    app.engine.complete_task(task.id, {})
    assert app.engine.get_case(case_id).case.status == "completed"
    seqs = [e.seq for e in app.engine.events(case_id)]
    assert seqs == sorted(set(seqs))


def test_a_notification_with_no_address_fails_loudly() -> None:
    notifier = SmtpNotifier(SmtpSettings(host="127.0.0.1", port=1, sender="p@x.example"))
    with pytest.raises(DeliveryError, match="no e-mail address for keyworker"):
        notifier.notify(Notification(case_id=1, client_id=1, to_role="keyworker",
                                     message="Hi", step="s", recipients=("kim",)))


def test_retries_then_gives_up(smtp_server: tuple[Controller, Inbox]) -> None:
    calls: list[int] = []
    pauses: list[float] = []

    def refuse(settings: SmtpSettings) -> Any:
        calls.append(1)
        raise ConnectionRefusedError("refused")

    notifier = SmtpNotifier(SmtpSettings(host="h", port=25, sender="p@x.example", attempts=3,
                                         addresses={"kim": "kim@x.example"}),
                            connect=refuse, pause=pauses.append)
    with pytest.raises(DeliveryError, match="failed 3 time"):
        notifier.notify(Notification(case_id=1, client_id=1, to_role="assignee",
                                     message="Hi", step="s", recipients=("kim",)))
    assert len(calls) == 3 and pauses == [1.0, 2.0]


@pytest.mark.parametrize(("env", "named"), [
    ({}, "PATHWAYS_SMTP_HOST"),
    ({"PATHWAYS_SMTP_HOST": "h"}, "PATHWAYS_SMTP_FROM"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "nobody"}, "PATHWAYS_SMTP_FROM"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "a@b", "PATHWAYS_SMTP_PORT": "x"},
     "PATHWAYS_SMTP_PORT"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "a@b", "PATHWAYS_SMTP_USER": "u"},
     "PATHWAYS_SMTP_USER"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "a@b",
      "PATHWAYS_SMTP_STARTTLS": "maybe"}, "PATHWAYS_SMTP_STARTTLS"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "a@b", "PATHWAYS_SMTP_TIMEOUT": "0"},
     "PATHWAYS_SMTP_TIMEOUT"),
    ({"PATHWAYS_SMTP_HOST": "h", "PATHWAYS_SMTP_FROM": "a@b",
      "PATHWAYS_SMTP_ADDRESSES": "/nonexistent.json"}, "PATHWAYS_SMTP_ADDRESSES"),
])
def test_bad_smtp_settings_are_refused_at_start_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    for name in ("HOST", "FROM", "PORT", "USER", "PASSWORD", "STARTTLS", "ADDRESSES",
                 "TIMEOUT", "ATTEMPTS"):
        monkeypatch.delenv(f"PATHWAYS_SMTP_{name}", raising=False)
    monkeypatch.setenv("PATHWAYS_NOTIFIER", "smtp")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidArgumentError) as caught:
        Settings.from_env("sqlite://")
    assert named in str(caught.value)


def test_the_notifier_signs_in_when_given_a_user(smtp_server: tuple[Controller, Inbox]) -> None:
    inbox = Inbox()
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=controller.port, sender="p@x.example",
                                starttls=False, user="pathways", password="s3cret",
                                addresses={"kim": "kim@x.example"})
        SmtpNotifier(settings).notify(Notification(
            case_id=7, client_id=1, to_role="assignee", message="Hello", step="s",
            subject="Reminder: Visit", recipients=("kim",)))
        assert logins == [("pathways", "s3cret")]
        [(to, mail)] = inbox.received
        assert to == ["kim@x.example"] and mail["Subject"] == "Reminder: Visit"
    finally:
        controller.stop()


def test_a_refused_sign_in_is_not_retried() -> None:
    calls: list[int] = []

    def refuse_login(settings: SmtpSettings) -> Any:
        calls.append(1)
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")

    notifier = SmtpNotifier(SmtpSettings(host="h", port=25, sender="p@x.example", attempts=3,
                                         user="u", password="p",
                                         addresses={"kim": "kim@x.example"}),
                            connect=refuse_login, pause=lambda seconds: None)
    with pytest.raises(DeliveryError, match="refused PATHWAYS_SMTP_USER's sign-in"):
        notifier.notify(Notification(case_id=1, client_id=1, to_role="assignee",
                                     message="Hi", step="s", recipients=("kim",)))
    assert len(calls) == 1
