"""`pathways digest` end to end (issue 18, item 10), on SQLite and PostgreSQL: the real CLI
sends each user who asked for the daily digest one e-mail through the SMTP notifier, to a
local SMTP server the test starts (aiosmtpd, as tests/integration/test_smtp_notifier.py):
counts and a link, never a client's name, a task's title or any case data; once a day
however often it runs; --dry-run sends and marks nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from adapters.bootstrap import Application, bootstrap
from adapters.settings import Settings
from dsl import compile_pathway, load_pathway
from tests.e2e.test_cli import Cli
from tests.integration.test_smtp_notifier import VISITS, Inbox, free_port


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def programme(cli: Cli) -> Iterator[Application]:
    """Hope's caseworkers: kim (asked for the digest, one new task), lee (did not), max
    (asked, nothing to do: another organisation)."""
    app = bootstrap(Settings(database_url=str(cli.database_url)), migrate=False)
    app.accounts.add_organisation("hope", "Hope")
    app.accounts.add_organisation("else", "Elsewhere")
    for name, org in (("kim", "hope"), ("lee", "hope"), ("max", "else")):
        app.accounts.add_user(name, name.title(), org, "caseworker", "a long password 1",
                              pathway_roles=["keyworker"])
    compiled = compile_pathway(load_pathway(VISITS, "visits.yaml"))
    app.engine.publish(compiled.files(), compiled.bpmn_file)
    client = app.engine.add_client("Ada Lovelace")
    app.engine.start_case("visits", client.id or 0)
    for name in ("kim", "max"):
        user = app.accounts.get_user(name)
        assert user is not None
        app.casework.set_digest(user, True)
    try:
        yield app
    finally:
        app.close()


def smtp_env(smtp: tuple[Controller, Inbox], tmp_path: Path) -> dict[str, str]:
    book = tmp_path / "addresses.json"
    book.write_text(json.dumps({"kim": "kim@hope.example", "lee": "lee@hope.example",
                                "max": "max@else.example"}))
    return {"PATHWAYS_NOTIFIER": "smtp", "PATHWAYS_SMTP_HOST": "127.0.0.1",
            "PATHWAYS_SMTP_PORT": str(smtp[0].port), "PATHWAYS_SMTP_FROM": "pathways@hope.example",
            "PATHWAYS_SMTP_STARTTLS": "false", "PATHWAYS_SMTP_ADDRESSES": str(book)}


def test_the_digest_goes_once_a_day_with_counts_and_a_link_only(
        cli: Cli, programme: Application, smtp: tuple[Controller, Inbox], tmp_path: Path
) -> None:
    env = smtp_env(smtp, tmp_path)

    def digest(*args: str) -> dict[str, object]:
        found: dict[str, object] = cli.run_argv(cli.argv(["--json", "digest", *args]),
                                                env=env).ok()
        return found

    dry = digest("--dry-run")
    assert dry["dry_run"] is True
    assert dry["users"] == [
        {"username": "kim", "outcome": "would send", "reason": None, "mine": 0, "role": 1,
         "overdue": 0},
        {"username": "max", "outcome": "nothing new", "reason": None, "mine": 0, "role": 0,
         "overdue": 0}]
    assert smtp[1].received == []  # a dry run sends nothing

    sent = digest("--url", "https://pathways.hope.example/")
    assert [(u["username"], u["outcome"]) for u in sent["users"]] == [  # type: ignore[index,union-attr]
        ("kim", "sent"), ("max", "nothing new")]
    [(to, mail)] = smtp[1].received
    assert to == ["kim@hope.example"]
    assert mail["Subject"] == "Pathways: your tasks today"
    body = mail.get_payload(decode=True).decode()
    assert "1 new task(s) for your role(s)" in body and "0 overdue task(s)" in body
    assert "https://pathways.hope.example/inbox" in body
    for private in ("Ada", "Lovelace", "Home visit", "visits", "case"):
        assert private not in body, private  # e-mail leaves the system: counts only

    again = digest("--url", "https://pathways.hope.example")
    assert [(u["username"], u["outcome"]) for u in again["users"]] == [  # type: ignore[index,union-attr]
        ("kim", "sent already"), ("max", "nothing new")]
    assert len(smtp[1].received) == 1  # once a day


def test_a_digest_that_cannot_be_sent_is_said_and_tried_again(
        cli: Cli, programme: Application, smtp: tuple[Controller, Inbox], tmp_path: Path
) -> None:
    env = {**smtp_env(smtp, tmp_path), "PATHWAYS_SMTP_PORT": str(free_port()),
           "PATHWAYS_SMTP_ATTEMPTS": "1", "PATHWAYS_SMTP_TIMEOUT": "2"}
    failed = cli.run_argv(cli.argv(["--json", "digest"]), env=env)
    assert failed.returncode == 1
    kim = json.loads(failed.stdout)["users"][0]
    assert kim["outcome"] == "failed" and "SMTP" in kim["reason"]
    # not marked sent: the next run (the server up again) sends it
    ok = cli.run_argv(cli.argv(["--json", "digest"]), env=smtp_env(smtp, tmp_path)).ok()
    assert ok["users"][0]["outcome"] == "sent" and len(smtp[1].received) == 1


def test_a_bad_url_is_refused_naming_the_option(cli: Cli, programme: Application) -> None:
    error = cli.error("digest", "--url", "pathways.example", code="invalid_argument")
    assert "--url" in error["message"]


def test_the_worker_sends_the_digest_daily_when_told_to(
        cli: Cli, programme: Application, smtp: tuple[Controller, Inbox], tmp_path: Path
) -> None:
    env = smtp_env(smtp, tmp_path)
    plain = cli.run_argv(cli.argv(["--json", "worker", "--rounds", "1"]), env=env)
    assert plain.returncode == 0, plain.stderr
    assert smtp[1].received == []  # not asked to
    told = {**env, "PATHWAYS_DIGEST_DAILY": "true",
            "PATHWAYS_PUBLIC_URL": "https://pathways.hope.example"}
    for _ in range(2):  # the second run the same day sends nothing more
        done = cli.run_argv(cli.argv(["--json", "worker", "--rounds", "2", "--interval", "0"]),
                            env=told)
        assert done.returncode == 0, done.stderr
    [(to, mail)] = smtp[1].received
    assert to == ["kim@hope.example"]
    assert "https://pathways.hope.example/inbox" in mail.get_payload(decode=True).decode()
