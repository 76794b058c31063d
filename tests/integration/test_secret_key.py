"""The web's secret key (adapters.secret_key) and the web server's settings, on real files.

A configured key wins; otherwise one is made once, owner-only, beside the SQLite database or
where the settings say, and every later read (another worker, a restart) gets the same one,
even when several processes start at once. The server's workers, threads and timeout come
from the environment, bounded, with the database's default number of workers.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from adapters import secret_key
from adapters.settings import Settings, WebServer
from engine.errors import InvalidArgumentError


def sqlite_settings(folder: Path, **options: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{folder / 'pathways.sqlite'}", **options)


def test_a_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, secret_key="configured-" + "k" * 32)
    assert secret_key.secret_key(settings) == "configured-" + "k" * 32
    assert list(tmp_path.iterdir()) == []


def test_a_key_is_made_once_beside_the_sqlite_file_owner_only(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    path = tmp_path / "pathways.sqlite.secret-key"
    assert secret_key.key_file(settings) == path
    first = secret_key.secret_key(settings)
    assert first is not None and len(first) >= secret_key.MIN_LENGTH
    assert path.read_text(encoding="utf-8").strip() == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key.secret_key(settings) == first  # the next process, or a restart
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_where_the_key_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "keys" / "pathways.key"
    settings = sqlite_settings(tmp_path, secret_key_file=chosen)
    assert secret_key.key_file(settings) == chosen
    assert secret_key.secret_key(settings) == chosen.read_text(encoding="utf-8").strip()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    postgres = Settings(database_url="postgresql://pathways@db.example/pathways")
    assert secret_key.key_file(postgres) == tmp_path / "state" / "pathways" / "secret-key"
    for memory in ("sqlite://", "sqlite:///:memory:"):
        assert secret_key.key_file(Settings(database_url=memory)) is None
        assert secret_key.secret_key(Settings(database_url=memory)) is None


def test_the_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.setenv("PATHWAYS_SECRET_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.delenv("PATHWAYS_SECRET_KEY", raising=False)
    assert Settings.from_env("sqlite://").secret_key_file == tmp_path / "k"


def test_processes_starting_at_once_all_get_the_same_key(tmp_path: Path) -> None:
    for attempt in range(20):
        settings = sqlite_settings(tmp_path, secret_key_file=tmp_path / f"key-{attempt}")
        start = threading.Barrier(8)
        keys: list[str | None] = []

        threads = [threading.Thread(target=_read_after, args=(start, settings, keys))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(keys) == 8 and len(set(keys)) == 1 and keys[0]
    assert not list(tmp_path.glob(".*.tmp"))


def _read_after(start: threading.Barrier, settings: Settings, keys: list[str | None]
                ) -> None:
    start.wait()
    keys.append(secret_key.secret_key(settings))


def test_a_short_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "pathways.sqlite.secret-key"
    path.write_text("short\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError) as raised:
        secret_key.secret_key(sqlite_settings(tmp_path))
    assert str(path) in raised.value.message and raised.value.details == {"file": str(path)}


def test_a_folder_it_cannot_write_is_an_error_saying_what_to_set(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    settings = sqlite_settings(tmp_path, secret_key_file=blocker / "secret-key")
    with pytest.raises(OSError, match="PATHWAYS_SECRET_KEY"):
        secret_key.secret_key(settings)


def test_web_server_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PATHWAYS_WEB_WORKERS", "PATHWAYS_WEB_THREADS", "PATHWAYS_WEB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    default = WebServer.from_env()
    assert (default.workers, default.threads, default.timeout) == (None, 4, 60)
    assert default.workers_for("sqlite:///p.sqlite") == 1
    assert default.workers_for("postgresql://h/db") >= 2
    monkeypatch.setenv("PATHWAYS_WEB_WORKERS", "3")
    monkeypatch.setenv("PATHWAYS_WEB_THREADS", "8")
    monkeypatch.setenv("PATHWAYS_WEB_TIMEOUT", "120")
    chosen = Settings.from_env("sqlite:///p.sqlite").web
    assert (chosen.workers, chosen.threads, chosen.timeout) == (3, 8, 120)
    assert chosen.workers_for("sqlite:///p.sqlite") == 3
    for name, bad in (("PATHWAYS_WEB_WORKERS", "0"), ("PATHWAYS_WEB_THREADS", "many"),
                      ("PATHWAYS_WEB_TIMEOUT", "1e9")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(InvalidArgumentError) as raised:
            WebServer.from_env()
        assert name in str(raised.value.details), raised.value.details
        monkeypatch.setenv(name, "2")
