"""The web app: `create_app(application)` builds Flask around an engine wired by bootstrap.

Until the caseworker web arrives it serves a JSON health endpoint; domain errors become
HTTP responses in one error handler.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from adapters.bootstrap import Application
from engine import EngineError

_STATUS_BY_CODE = {
    "not_found": 404,
    "conflict": 409,
    "invalid_data": 422,
    "invalid_definition": 422,
    "invalid_state": 409,
    "invalid_argument": 400,
}


def create_app(application: Application, *, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(test_config or {})
    app.extensions["pathways"] = application

    @app.get("/health")
    def health() -> Any:
        with application.database.connect() as connection:
            connection.execute(text("SELECT 1"))
        return jsonify({"status": "ok", "database": "ok",
                        "pathways": len(application.engine.definitions())})

    @app.errorhandler(EngineError)
    def engine_error(err: EngineError) -> Any:
        return jsonify({"error": err.to_dict()}), _STATUS_BY_CODE.get(err.code, 400)

    return app
