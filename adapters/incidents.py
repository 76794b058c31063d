"""Incidents: failures nobody planned for, kept for an operator instead of shown to the user.

The CLI and the web answer any unexpected exception with the JSON error shape
{"error": {"code": "internal_error", "message": "<type>: <message>", "details":
{"incident": ID, ...}}} (a plain page on the web); the traceback goes, under that ID, to the
incident log: the file named by PATHWAYS_INCIDENT_LOG, else
$XDG_STATE_HOME/pathways/incidents.log (~/.local/state/pathways/incidents.log). The web also
logs it through the `pathways.incidents` logger (the server's log). Only with
PATHWAYS_DEBUG=1 does the CLI print the traceback on stderr as well.

Every use of this catch-all is a bug to fix where it happened (a specific error with its
own code); tests assert specific codes, so the catch-all cannot hide one from them.
"""

from __future__ import annotations

import logging
import os
import secrets
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_VARIABLE = "PATHWAYS_INCIDENT_LOG"
DEBUG_VARIABLE = "PATHWAYS_DEBUG"
MAX_MESSAGE = 500

log = logging.getLogger("pathways.incidents")


def debug() -> bool:
    """PATHWAYS_DEBUG=1 (or true/yes): tracebacks are shown to the user too."""
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def log_path() -> Path:
    configured = os.environ.get(LOG_VARIABLE, "").strip()
    if configured:
        return Path(configured)
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "pathways" / "incidents.log"


def record(err: BaseException, *, where: str) -> dict[str, Any]:
    """Keep err's traceback under a new incident id; the error to show the user.

    where says what was running (a command's name, a request's method and route), never
    the values given to it, which may be personal data.
    """
    now = datetime.now(UTC)
    incident = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    text = "".join(traceback.format_exception(err))
    written: str | None = None
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write(f"--- incident {incident} at {now.isoformat()} in {where}\n{text}\n")
        written = str(path)
    except OSError:
        pass  # the user still gets the incident id; the server log (web) has it too
    message = f"{type(err).__name__}: {err}"
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 3] + "..."
    return {"code": "internal_error", "message": message,
            "details": {"incident": incident, "log": written}}
