"""Commits survive a power cut unless the deployment says otherwise (issue 19, item 3).

By default a commit is flushed to disk before it returns: SQLite's `synchronous=FULL` in WAL
mode, PostgreSQL's `synchronous_commit=on`. `PATHWAYS_DURABILITY=relaxed` trades the last
commits before a power cut (or an operating-system crash; never a process crash, never
corruption) for faster commits: `synchronous=NORMAL`, `synchronous_commit=off`. The test
suite itself runs relaxed (tests/conftest.py): it checks behaviour, not power cuts.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.sql.database import DURABILITY_VARIABLE, durability_from_env, make_engine
from engine.errors import InvalidArgumentError

SQLITE_LEVELS = {"full": 2, "relaxed": 1}  # PRAGMA synchronous: 1 NORMAL, 2 FULL
POSTGRES_LEVELS = {"full": "on", "relaxed": "off"}


def commit_level(url: str, durability: str | None = None) -> object:
    engine = make_engine(url, durability)
    try:
        with engine.connect() as connection:
            if url.startswith("sqlite"):
                return connection.exec_driver_sql("PRAGMA synchronous").scalar()
            return connection.execute(text("SHOW synchronous_commit")).scalar()
    finally:
        engine.dispose()


def expected(url: str, durability: str) -> object:
    return (SQLITE_LEVELS if url.startswith("sqlite") else POSTGRES_LEVELS)[durability]


def test_commits_are_durable_unless_relaxed_is_asked_for(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DURABILITY_VARIABLE, raising=False)
    assert commit_level(database_url) == expected(database_url, "full")
    assert commit_level(database_url, "relaxed") == expected(database_url, "relaxed")
    monkeypatch.setenv(DURABILITY_VARIABLE, "relaxed")
    assert commit_level(database_url) == expected(database_url, "relaxed")
    assert commit_level(database_url, "full") == expected(database_url, "full")


def test_the_application_commits_as_its_settings_say(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DURABILITY_VARIABLE, raising=False)
    assert Settings(database_url=database_url).durability == "full"
    for durability in ("full", "relaxed"):
        application = bootstrap(Settings(database_url=database_url, durability=durability))
        try:
            with application.database.connect() as connection:
                level = (connection.exec_driver_sql("PRAGMA synchronous").scalar()
                         if database_url.startswith("sqlite")
                         else connection.execute(text("SHOW synchronous_commit")).scalar())
            assert level == expected(database_url, durability)
        finally:
            application.database.dispose()


@pytest.mark.parametrize("value", ["fast", "off", "FULLY", "1"])
def test_an_unknown_durability_is_refused_by_name(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DURABILITY_VARIABLE, value)
    with pytest.raises(InvalidArgumentError) as raised:
        durability_from_env()
    message = str(raised.value)
    assert DURABILITY_VARIABLE in message and repr(value) in message
    assert "full" in message and "relaxed" in message
    with pytest.raises(InvalidArgumentError):
        make_engine("sqlite://", value)


def test_the_names_are_read_loosely(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DURABILITY_VARIABLE, " Relaxed ")
    assert durability_from_env() == "relaxed"
    monkeypatch.setenv(DURABILITY_VARIABLE, "")
    assert durability_from_env() == "full"
