"""The demo programme `pathways init --demo` seeds (issue 18, item 11): every demo caseworker
signs in to work of their own, the activity spreads over months (so month-on-month views
show something) and never into the future, and the files a local run writes are ignored by
git."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import pathway_name, publish_order, read_bundle
from adapters.demo import USERS, seed_demo
from adapters.settings import PROJECT_ROOT, Settings
from tests.web.conftest import CHEAP_HASHER

CASEWORKERS = [u.username for u in USERS if u.role in ("caseworker", "team_lead")]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'pathways.sqlite'}"
    application = bootstrap(Settings(database_url=url), hasher=CHEAP_HASHER)
    ordered = publish_order(PROJECT_ROOT / "definitions")
    known = {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        files, main = read_bundle(path, known_pathways=known)
        application.engine.publish(files, main, note=note)
    assert seed_demo(application, clients=60).created
    yield application
    application.close()


@pytest.mark.parametrize("username", CASEWORKERS)
def test_every_demo_caseworker_has_work_in_their_inbox(
        seeded: Application, username: str) -> None:
    user = seeded.accounts.get_user(username)
    assert user is not None
    assert seeded.casework.inbox(user).rows, f"{username} signs in to an empty inbox"


def test_the_activity_spreads_over_months_and_never_past_now(seeded: Application) -> None:
    with seeded.database.connect() as connection:
        times = [row[0] for row in connection.execute(text(
            "SELECT at FROM events WHERE type IN ('case_started', 'task_completed')"))]
    instants = [t if isinstance(t, datetime) else datetime.fromisoformat(t) for t in times]
    instants = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in instants]
    months = {(t.year, t.month) for t in instants}
    assert len(months) >= 3, sorted(months)
    assert max(instants) <= datetime.now(UTC)


def test_seeding_a_seeded_database_again_changes_nothing(seeded: Application) -> None:
    cases = len(seeded.engine.list_cases())
    assert not seed_demo(seeded).created
    assert len(seeded.engine.list_cases()) == cases


@pytest.mark.parametrize("name", [
    "pathways.sqlite", "pathways.sqlite-wal", "pathways.sqlite-shm",
    "pathways.sqlite.secret-key", "pathways-worker.log", "other.sqlite3-wal",
    "other.sqlite3-shm", "data.db-wal"])
def test_what_a_local_run_writes_is_ignored_by_git(name: str) -> None:
    found = subprocess.run(["git", "check-ignore", "-q", name], cwd=PROJECT_ROOT, check=False)
    if found.returncode == 128:
        pytest.skip("not a git checkout")
    assert found.returncode == 0, f"{name} is not in .gitignore"
