"""Settings from the command line and environment, with defaults that need nothing installed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from adapters import logs
from adapters.attachment_store import AttachmentSettings
from adapters.notifications import DEFAULT_NOTIFIER, check_notifier_name
from adapters.smtp import SmtpSettings
from adapters.sql.database import durability_from_env
from engine.numbers import parse_int
from engine.outcomes import DEFAULT_THRESHOLD

DEFAULT_DATABASE_FILE = "pathways.sqlite"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BREAK_GLASS_MINUTES = 30


@dataclass(frozen=True, kw_only=True)
class WebServer:
    """How `pathways serve` runs gunicorn: worker processes (None: the database's default,
    see workers_for), threads per process, and the seconds a request may take before its
    worker is restarted."""

    workers: int | None = None
    threads: int = 4
    timeout: int = 60

    @classmethod
    def from_env(cls) -> WebServer:
        text = os.environ.get("PATHWAYS_WEB_WORKERS", "").strip()
        workers = parse_int(text, field="PATHWAYS_WEB_WORKERS", minimum=1,
                            maximum=MAX_WEB_WORKERS) if text else None
        return cls(workers=workers,
                   threads=_whole("PATHWAYS_WEB_THREADS", 4, 1, MAX_WEB_THREADS),
                   timeout=_whole("PATHWAYS_WEB_TIMEOUT", 60, 1, MAX_WEB_TIMEOUT))

    def workers_for(self, database_url: str) -> int:
        """The workers asked for, else one on SQLite (one writer at a time for the whole
        file: more processes only queue on its lock) and one per core on PostgreSQL."""
        if self.workers is not None:
            return self.workers
        if database_url.startswith("sqlite"):
            return 1
        return max(2, min(os.cpu_count() or 2, MAX_WEB_WORKERS))


MAX_WEB_WORKERS = 64
MAX_WEB_THREADS = 256
MAX_WEB_TIMEOUT = 3600


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    definitions_dir: Path = PROJECT_ROOT / "definitions"
    script_time_limit: float = 1.0
    live_cases: int = 1024
    # Signs session cookies. Without one a random key is made per process: sessions then end
    # when it restarts, and several processes (gunicorn workers) would not share them.
    # `pathways serve` reads it from secret_key_file instead (adapters.secret_key), made once.
    secret_key: str | None = None
    # Where `pathways serve` keeps the key it made when none is set (None: beside a SQLite
    # database file, else in the state folder; see adapters.secret_key.key_file).
    secret_key_file: Path | None = None
    # The production server's processes, threads and timeout (`pathways serve`).
    web: WebServer = field(default_factory=WebServer)
    # Send the session cookie over HTTPS only. Off only for plain-HTTP local use.
    secure_cookies: bool = True
    # A web session ends after this many minutes without a request (shared office machines),
    # and this many hours after sign-in however busy.
    session_idle_minutes: int = 30
    session_hours: int = 10
    # How long a break-glass opening of a client record lasts (a read-only view).
    break_glass_minutes: int = DEFAULT_BREAK_GLASS_MINUTES
    # Statistical disclosure control: counts from 1 to this minus 1 are never shown in an
    # aggregate (the dashboard's tables, charts and CSVs), nor anything computed from them.
    disclosure_threshold: int = DEFAULT_THRESHOLD
    # How `notify` steps reach people (adapters.notifications.NOTIFIERS): `null` sends
    # nothing (the request stays on the case's event log), `log` writes one log line each.
    notifier: str = DEFAULT_NOTIFIER
    # With notifier `smtp`: the server, sender and address book (PATHWAYS_SMTP_*)
    smtp: SmtpSettings | None = None
    # Log lines (adapters.logs): None leaves Python's default (warnings and errors on
    # stderr); "json" writes one JSON object per line, "text" readable lines with the same
    # context; from log_level up (PATHWAYS_LOG_FORMAT, PATHWAYS_LOG_LEVEL).
    log_format: str | None = None
    log_level: str = "info"
    # How many proxies (load balancers) stand in front of the web server and append to
    # X-Forwarded-For / X-Forwarded-Proto (PATHWAYS_TRUSTED_PROXIES): with N, the client's
    # address is the Nth from the right of X-Forwarded-For (what sign-in rate limits count by).
    # 0: the headers are ignored, so no client can claim another address by sending them.
    trusted_proxies: int = 0
    # The bearer token /metrics asks for (PATHWAYS_METRICS_TOKEN); without one /metrics
    # answers only requests made on this machine that no proxy forwarded (web.observability).
    metrics_token: str | None = None
    # `pathways worker` serves its own counts (it has no web app) on this port of this
    # address when set (PATHWAYS_WORKER_METRICS_PORT, PATHWAYS_WORKER_METRICS_ADDRESS).
    worker_metrics_port: int | None = None
    worker_metrics_address: str = "127.0.0.1"
    # Whether a commit returns only once it is on disk ("full": survives a power cut) or may
    # lose the last commits to a power cut ("relaxed", faster); PATHWAYS_DURABILITY.
    durability: str = field(default_factory=durability_from_env)
    # Documents on clients' records: where they are kept, the largest, the virus scanner
    # (adapters.attachment_store.AttachmentSettings; PATHWAYS_ATTACHMENTS_*, PATHWAYS_CLAMD).
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """--db wins, then PATHWAYS_DATABASE_URL, then a SQLite file in the working directory."""
        url = (database_url or os.environ.get("PATHWAYS_DATABASE_URL")
               or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}")
        definitions = os.environ.get("PATHWAYS_DEFINITIONS_DIR")
        folder = Path(definitions) if definitions else PROJECT_ROOT / "definitions"
        insecure = os.environ.get("PATHWAYS_INSECURE_COOKIES", "").lower() in ("1", "true", "yes")
        log_format, log_level = logs.from_environment(os.environ)
        notifier = check_notifier_name(
            os.environ.get("PATHWAYS_NOTIFIER", "").strip() or DEFAULT_NOTIFIER)
        key_file = os.environ.get("PATHWAYS_SECRET_KEY_FILE", "").strip()
        return cls(database_url=url, definitions_dir=folder,
                   secret_key=os.environ.get("PATHWAYS_SECRET_KEY") or None,
                   secret_key_file=Path(key_file) if key_file else None,
                   web=WebServer.from_env(),
                   secure_cookies=not insecure,
                   session_idle_minutes=_whole("PATHWAYS_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
                   session_hours=_whole("PATHWAYS_SESSION_HOURS", 10, 1, 72),
                   break_glass_minutes=_whole("PATHWAYS_BREAK_GLASS_MINUTES",
                                              DEFAULT_BREAK_GLASS_MINUTES, 1, 24 * 60),
                   disclosure_threshold=_whole("PATHWAYS_DISCLOSURE_THRESHOLD",
                                               DEFAULT_THRESHOLD, 2, 1000),
                   notifier=notifier,
                   smtp=SmtpSettings.from_env(os.environ) if notifier == "smtp" else None,
                   log_format=log_format, log_level=log_level,
                   trusted_proxies=_whole("PATHWAYS_TRUSTED_PROXIES", 0, 0, 10),
                   metrics_token=os.environ.get("PATHWAYS_METRICS_TOKEN", "").strip() or None,
                   worker_metrics_port=_port("PATHWAYS_WORKER_METRICS_PORT"),
                   attachments=AttachmentSettings.from_env(),
                   worker_metrics_address=os.environ.get(
                       "PATHWAYS_WORKER_METRICS_ADDRESS", "").strip() or "127.0.0.1")


def _whole(name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number from the environment, bounded; the default when it is not set."""
    text = os.environ.get(name, "").strip()
    return default if not text else parse_int(text, field=name, minimum=minimum,
                                              maximum=maximum)


def _port(name: str) -> int | None:
    """A port number from the environment; None when it is not set."""
    text = os.environ.get(name, "").strip()
    return parse_int(text, field=name, minimum=1, maximum=65535) if text else None
