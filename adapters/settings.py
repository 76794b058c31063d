"""Settings from the command line and environment, with defaults that need nothing installed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.numbers import parse_int

DEFAULT_DATABASE_FILE = "pathways.sqlite"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BREAK_GLASS_MINUTES = 30


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    definitions_dir: Path = PROJECT_ROOT / "definitions"
    script_time_limit: float = 1.0
    live_cases: int = 1024
    # Signs session cookies. Without one a random key is made per process: sessions then end
    # when it restarts, and several processes (gunicorn workers) would not share them.
    secret_key: str | None = None
    # Send the session cookie over HTTPS only. Off only for plain-HTTP local use.
    secure_cookies: bool = True
    # How long a break-glass opening of a client record lasts (a read-only view).
    break_glass_minutes: int = DEFAULT_BREAK_GLASS_MINUTES

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """--db wins, then PATHWAYS_DATABASE_URL, then a SQLite file in the working directory."""
        url = (database_url or os.environ.get("PATHWAYS_DATABASE_URL")
               or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}")
        definitions = os.environ.get("PATHWAYS_DEFINITIONS_DIR")
        folder = Path(definitions) if definitions else PROJECT_ROOT / "definitions"
        insecure = os.environ.get("PATHWAYS_INSECURE_COOKIES", "").lower() in ("1", "true", "yes")
        minutes = os.environ.get("PATHWAYS_BREAK_GLASS_MINUTES")
        return cls(database_url=url, definitions_dir=folder,
                   secret_key=os.environ.get("PATHWAYS_SECRET_KEY") or None,
                   secure_cookies=not insecure,
                   break_glass_minutes=DEFAULT_BREAK_GLASS_MINUTES if not minutes else parse_int(
                       minutes, field="PATHWAYS_BREAK_GLASS_MINUTES", minimum=1,
                       maximum=24 * 60))
