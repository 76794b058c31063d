"""What operators and load balancers ask of a web node: /healthz, /readyz, /metrics, and
one log line per request.

/healthz (liveness) answers 200 while the process can answer at all; it touches no database.
/readyz (readiness) answers 200 when the database answers and its schema is at this code's
newest revision, else 503 {"status": "unavailable", "reason"}. /metrics is Prometheus' text
format (adapters.metrics): with PATHWAYS_METRICS_TOKEN set, only for `Authorization: Bearer
<token>`; without one, only for a request from this machine (a loopback address) that no
proxy forwarded (no X-Forwarded-For, Forwarded or X-Real-IP header). None of the three needs
a sign-in or shows any record.

Every request gets a request id: the X-Request-ID it came with when that is 1-128 letters,
digits or `._:-`, else a new one; it is echoed in the response's X-Request-ID and carried by
every log line written while the request runs (adapters.logs), with the signed-in user and
the case the request concerns. The request's own line (logger pathways.requests, INFO; DEBUG
for a probe or scrape that succeeded) adds method, path (never the query string), status and
duration_ms.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, jsonify, request

from adapters import logs, metrics
from adapters.bootstrap import Application

log = logging.getLogger(__name__)
access_log = logging.getLogger("pathways.requests")

PROBES = frozenset({"healthz", "readyz", "metrics"})  # no database before them, no user
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def init_app(app: Flask, application: Application) -> None:
    """The request id, log context and timing first (before every other hook), the
    request's log line and metrics last, and the three routes."""
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_close)
    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", lambda: _readyz(application), methods=["GET"])
    app.add_url_rule("/metrics", "metrics", lambda: _metrics(application), methods=["GET"])


# -- each request ------------------------------------------------------------------------


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    case = (request.view_args or {}).get("case_id")
    g.log_context = logs.open_context(request_id=g.request_id,
                                      case=case if isinstance(case, int) else None)


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    user = g.get("user")
    logs.note(user=user.username if user is not None else None)
    metrics.request_done(request.endpoint, request.method, response.status_code, seconds)
    request_id = g.get("request_id")
    if request_id is not None:
        response.headers["X-Request-ID"] = request_id
    quiet = request.endpoint in PROBES and response.status_code == 200  # every few seconds
    fields = {"method": request.method, "path": request.path,
              "status": response.status_code, "duration_ms": round(seconds * 1000, 2)}
    access_log.log(logging.DEBUG if quiet else logging.INFO, "%s %s %s", request.method,
                   request.path, response.status_code, extra={"fields": fields})
    return response


def _close(error: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        logs.close_context(token)


# -- the routes --------------------------------------------------------------------------


def _healthz() -> Any:
    """Liveness: the process answers. No database, so a database outage restarts nothing."""
    return jsonify({"status": "ok"})


def _readyz(application: Application) -> Any:
    """Readiness: the database answers and its schema is this code's (Application.unready)."""
    reason = application.unready()
    if reason is not None:
        return jsonify({"status": "unavailable", "reason": reason}), 503
    return jsonify({"status": "ready"})


def _metrics(application: Application) -> Any:
    refused = _metrics_refusal(application.settings.metrics_token)
    if refused is not None:
        return refused
    engine = application.engine
    body = metrics.exposition(engine.due_timers, engine.clock.now)
    return Response(body, status=200, headers={"Content-Type": metrics.CONTENT_TYPE})


def _metrics_refusal(token: str | None) -> Any:
    """None when the request may read the metrics, else the refusal."""
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode()):
            return None
        error = {"code": "unauthorized", "details": {},
                 "message": "/metrics needs the bearer token set in PATHWAYS_METRICS_TOKEN"}
        return jsonify({"error": error}), 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}
    if _from_this_machine() and not any(h in request.headers for h in FORWARDING_HEADERS):
        return None
    error = {"code": "forbidden", "details": {},
             "message": "/metrics answers only on this machine unless PATHWAYS_METRICS_TOKEN "
                        "is set (then with that bearer token)"}
    return jsonify({"error": error}), 403


def _from_this_machine() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
