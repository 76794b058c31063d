"""Settings from the command line and environment, with defaults that need nothing installed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.disclosure import DEFAULT_THRESHOLD
from engine.numbers import parse_int

DEFAULT_DATABASE_FILE = "pathways.sqlite"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


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
    # Statistical disclosure control: counts from 1 to this minus 1 are never shown in an
    # aggregate (the dashboard's tables, charts and CSVs), nor anything computed from them.
    disclosure_threshold: int = DEFAULT_THRESHOLD

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """--db wins, then PATHWAYS_DATABASE_URL, then a SQLite file in the working directory."""
        url = (database_url or os.environ.get("PATHWAYS_DATABASE_URL")
               or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}")
        definitions = os.environ.get("PATHWAYS_DEFINITIONS_DIR")
        folder = Path(definitions) if definitions else PROJECT_ROOT / "definitions"
        insecure = os.environ.get("PATHWAYS_INSECURE_COOKIES", "").lower() in ("1", "true", "yes")
        threshold = os.environ.get("PATHWAYS_DISCLOSURE_THRESHOLD")
        return cls(database_url=url, definitions_dir=folder,
                   secret_key=os.environ.get("PATHWAYS_SECRET_KEY") or None,
                   secure_cookies=not insecure,
                   disclosure_threshold=DEFAULT_THRESHOLD if not threshold else parse_int(
                       threshold, field="PATHWAYS_DISCLOSURE_THRESHOLD", minimum=2,
                       maximum=1000))
