"""The web's secret key (it signs session cookies and CSRF tokens), made once and kept.

A key set in the settings (PATHWAYS_SECRET_KEY) wins. Otherwise `pathways serve` reads the key
file, making it the first time: beside a SQLite database file (`pathways.sqlite.secret-key`),
else in the state folder (`$XDG_STATE_HOME/pathways/secret-key`), or wherever
PATHWAYS_SECRET_KEY_FILE says. Every worker process and every restart read the same key, so a
signed-in browser stays signed in across restarts and whichever worker answers it.

The file is made atomically and readable by its owner only: the key is written to a private
temporary file beside it, which is then linked to the final name. Linking fails if the name
exists, so of two processes starting at once one makes the key and the other reads it; a
reader never sees a half-written key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.settings import Settings
from engine.errors import InvalidArgumentError

log = logging.getLogger(__name__)

SUFFIX = ".secret-key"
MIN_LENGTH = 32  # characters of a key read from a file: a short one is a mistake


def key_file(settings: Settings) -> Path | None:
    """Where the key is kept; None for an in-memory SQLite database (nothing outlives it)."""
    if settings.secret_key_file is not None:
        return settings.secret_key_file
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).resolve().with_name(Path(database).name + SUFFIX)
    state = os.environ.get("XDG_STATE_HOME", "").strip()  # as the incident log's folder
    return (Path(state) if state else Path.home() / ".local" / "state") / "pathways" / \
        "secret-key"


def secret_key(settings: Settings) -> str | None:
    """The configured key, else the kept one (made now if there is none yet); None where
    no file can outlive the process (each process then makes its own, web.create_app)."""
    if settings.secret_key:
        return settings.secret_key
    path = key_file(settings)
    if path is None:
        return None
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise _unusable(path, err) from err
    try:
        _create(path)
    except OSError as err:
        raise _unusable(path, err) from err
    log.warning("made the web's secret key, kept in %s", path)
    return _read(path)


def _unusable(path: Path, err: OSError) -> OSError:
    return OSError(f"cannot keep the web's secret key in {path} ({err.strerror or err}): set "
                   f"PATHWAYS_SECRET_KEY, or PATHWAYS_SECRET_KEY_FILE to a file in a folder "
                   f"Pathways may write")


def _read(path: Path) -> str:
    with path.open(encoding="utf-8") as file:
        mode = os.fstat(file.fileno()).st_mode
        key = file.read().strip()
    if len(key) < MIN_LENGTH:
        raise InvalidArgumentError(
            f"the secret key file {path} holds {len(key)} characters, fewer than "
            f"{MIN_LENGTH}: delete it to have a new key made (everyone is signed out), or "
            f"write a longer key in it", details={"file": str(path)})
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the secret key file %s may be read by others than its owner "
                    "(chmod 600 it)", path)
    return key


def _create(path: Path) -> None:
    """Write a new key to path unless a key is there already (see the module's docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
