"""The web app: `create_app(application)` builds Flask around the services bootstrap wired.

Server-rendered pages (Jinja, plain CSS, no front-end build) for people, and a JSON API for
integrations. Domain errors become HTTP responses in one place: JSON for the API and
/health, a plain page otherwise. No response ever carries a traceback: a database error is
a 503 `database_error`, and an exception nobody planned for a 500 `internal_error` naming an
incident whose traceback is in the server log and the incident log (adapters.incidents).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters import incidents
from adapters.bootstrap import Application
from engine import EngineError
from engine.outcomes.estimates import load_libraries
from web import (
    access_report,
    admin_organisations,
    admin_users,
    api,
    assets,
    attachment_pages,
    auth,
    case_notes,
    casework,
    commissioner,
    designer,
    editor_pages,
    incident_pages,
    migration_pages,
    notices,
    observability,
    task_submit,
)
from web.boundary import DatabaseIdConverter, refuse_unstorable_text
from web.people import person
from web.security import csrf, current_user, limiter, load_user

log = logging.getLogger(__name__)

_STATUS_BY_CODE = {
    "not_found": 404,
    "conflict": 409,
    "duplicate_case": 409,  # a second open case of a pathway, not confirmed (web only)
    "invalid_data": 422,
    "invalid_definition": 422,
    "script_error": 422,  # a script or expression of the definition failed on this data
    "invalid_expression": 422,
    "script_timeout": 422,
    "state_format": 500,  # a stored case state this version cannot read
    "invalid_state": 409,
    "invalid_argument": 400,
    "forbidden": 403,
    "unauthorized": 401,
    "too_large": 413,  # an attachment over the size limit
    "infected": 422,  # an attachment the virus scanner refused
    "scanner_unavailable": 503,  # no virus scanner to ask: uploads refused (fail closed)
}


def _kind_of(err: SQLAlchemyError) -> str:
    """The driver's error class (no message: it may name hosts or hold the value)."""
    orig = getattr(err, "orig", None)
    return type(orig if orig is not None else err).__name__


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/health", "/readyz", "/metrics"))


def _error_page(status: int, message: str) -> Any:
    """The error page; a bare one when the page itself cannot be drawn (the layout asks the
    database for the signed-in user's organisations, which may be what failed)."""
    try:
        return render_template("error.html", status=status, message=message), status
    except Exception:  # the error page must not fail in its turn
        log.warning("error page could not be drawn; a bare one sent", exc_info=True)
        body = (f"<!doctype html><title>{status}</title><h1>Something went wrong</h1>"
                f"<p role=\"alert\">{escape(message)}</p>")
        return Response(body, status=status, mimetype="text/html")


def _error_response(status: int, code: str, message: str, details: dict[str, Any]) -> Any:
    """The one error shape: {"error": {code, message, details}} for JSON, else the page."""
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message, "details": details}}), status
    return _error_page(status, message)


def create_app(application: Application, *, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    _configure(app, application.settings, test_config)
    app.extensions["pathways"] = application
    app.url_map.converters["int"] = DatabaseIdConverter  # ids past the database's range: 404
    attachment_pages.init_app(app)  # an upload's size allowance, before anything reads it
    observability.init_app(app, application)  # request ids, log lines, metrics, probes
    app.before_request(refuse_unstorable_text)  # NUL or lone surrogates anywhere: 400

    @app.before_request
    def ensure_database() -> None:
        """An empty database gets its schema at the first request (503 while unreachable)."""
        if request.endpoint != "health" and request.endpoint not in observability.PROBES:
            application.ensure_schema()

    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(load_user)
    _register_blueprints(app)
    _add_home_and_health(app, application)
    app.after_request(_security_headers)
    _register_error_handlers(app)
    load_libraries()  # the statistics libraries, imported now rather than on a first request
    return app


def warm_up(app: Flask) -> None:
    """Do now what a worker's first requests would otherwise wait for (the server calls it
    as each worker starts): compile every template, and parse the published definitions
    (every inbox and dashboard needs every pathway's). A database that does not answer yet
    only leaves the definitions to the first requests, as before."""
    environment = app.jinja_env
    for name in environment.list_templates():
        environment.get_template(name)
    load_definitions(app.extensions["pathways"])


def load_definitions(application: Application) -> None:
    """Parse the published definitions into this process's caches now (see warm_up); what
    does not load is logged."""
    try:
        found = application.engine.load_definitions()
    except (EngineError, SQLAlchemyError):
        log.warning("definitions not loaded before the first request", exc_info=True)
        return
    if found.failed:
        log.warning("published versions that do not load: %s",
                    ", ".join(f"{pathway} v{number}" for pathway, number in found.failed))


def _configure(app: Flask, settings: Any, test_config: dict[str, Any] | None) -> None:
    secret = settings.secret_key
    if not secret:
        log.warning("no PATHWAYS_SECRET_KEY set: sessions end when this process stops")
        secret = secrets.token_urlsafe(32)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="pathways_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),  # + server side
        # The cookie is set only when the session changes: its lifetime is the server
        # session's, counted from sign-in, so re-sending it gains nothing, and an answer
        # re-sending the cookie its request came with would take back what a request
        # answered meanwhile put there (a draft saved while publishing lost "Published").
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session; a long form must not expire
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.config.update(test_config or {})
    if settings.trusted_proxies:  # the client's address and scheme, as the proxies saw them
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth.bp)
    app.register_blueprint(casework.bp)
    app.register_blueprint(case_notes.bp)
    app.register_blueprint(commissioner.bp)
    app.register_blueprint(designer.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(migration_pages.bp)
    app.register_blueprint(editor_pages.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(admin_organisations.bp)
    app.register_blueprint(access_report.bp)
    app.register_blueprint(incident_pages.bp)
    app.register_blueprint(notices.bp)
    app.register_blueprint(attachment_pages.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens only: no cookie is trusted there


def _add_home_and_health(app: Flask, application: Application) -> None:
    @app.context_processor
    def inject_user() -> dict[str, Any]:
        names = {org.id: org.name for org in application.accounts.organisations()} \
            if current_user() is not None else {}
        return {"user": current_user(), "organisation_names": names, "person": person}

    @app.get("/")
    def home() -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login"))
        if user.role in ("caseworker", "team_lead", "admin"):
            return redirect(url_for("casework.inbox"))
        if user.role in ("commissioner", "designer"):
            return redirect(url_for("commissioner.dashboard"))
        return render_template("home.html")

    @app.get("/health")
    def health() -> Any:
        """200 when the database answers and its schema is current (migrating an empty one);
        503 {"status": "unavailable", "reason"} otherwise, for load balancers to act on."""
        try:
            application.ensure_schema(check=True)
            with application.database.connect() as connection:
                connection.execute(text("SELECT 1"))
            pathways = len(application.engine.definitions())
        except SQLAlchemyError as err:
            log.warning("health check failed: %s", err)
            return jsonify({"status": "unavailable",
                            "reason": f"the database cannot be used ({_kind_of(err)})"}), 503
        return jsonify({"status": "ok", "database": "ok", "pathways": pathways})


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'")
    if current_user() is not None:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _register_error_handlers(app: Flask) -> None:
    """Domain, database, form, rate and HTTP errors, then anything else, as responses."""
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DataError, _database_refused_value)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _engine_error(err: EngineError) -> Any:
    status = _STATUS_BY_CODE.get(err.code, 400)
    if _wants_json():
        return jsonify({"error": err.to_dict()}), status
    return _error_page(status, err.message)


def _database_unavailable(err: OperationalError) -> Any:
    log.warning("database unavailable: %s", err)
    message = "The database cannot be reached just now. Try again in a moment."
    return _error_response(503, "database_unavailable", message, {"kind": _kind_of(err)})


def _database_refused_value(err: DataError) -> Any:
    """A value the database cannot hold that the boundary checks did not catch."""
    log.warning("database refused a value: %s", err)
    message = "A value sent cannot be stored (out of range, or characters not allowed)."
    return _error_response(400, "invalid_argument", message, {"kind": _kind_of(err)})


def _database_error(err: SQLAlchemyError) -> Any:
    """Any other database failure (a file that is not a database, a table missing):
    the service cannot work on this database, which is for an operator to fix."""
    log.error("database error on %s %s: %s", request.method, request.path, err)
    message = "The database cannot be used just now. The operators have been told."
    return _error_response(503, "database_error", message, {"kind": _kind_of(err)})


def _csrf_error(err: CSRFError) -> Any:
    if request.method == "POST" and request.endpoint == "casework.task" and not _wants_json():
        return task_submit.session_lost((request.view_args or {})["task_id"], err.description)
    message = f"The form could not be accepted ({err.description}). Reload and try again."
    return _error_response(400, "csrf", message, {})


def _rate_limited(err: RateLimitExceeded) -> Any:
    message = "Too many attempts. Wait a minute and try again."
    return _error_response(429, "rate_limited", message, {"limit": str(err.description)})


def _http_error(err: HTTPException) -> Any:
    status = err.code or 500
    if status == 413 and request.endpoint in attachment_pages.UPLOADS:
        return _error_response(413, "too_large", attachment_pages.too_large_message(),
                               {"limit": attachment_pages.max_upload()})
    code = {404: "not_found", 403: "forbidden", 401: "unauthorized"}.get(status, "http_error")
    return _error_response(status, code, err.description or err.name, {})


def _unexpected(err: Exception) -> Any:
    """The last resort: an incident (traceback in the server and incident logs), never
    a stack in the response. Each one is a bug to fix where it happened."""
    if isinstance(err, HTTPException):  # e.g. raised inside another handler
        return _http_error(err)
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    error = incidents.record(err, where=f"{request.method} {rule}")
    incident = error["details"]["incident"]
    incidents.log.error("incident %s on %s %s", incident, request.method, rule,
                        exc_info=err)
    message = (f"Something went wrong on our side (incident {incident}). It has been "
               f"logged for the operators; try again later.")
    return _error_response(500, "internal_error", message, {"incident": incident})
