"""Front-end packages from the npm registry, served by the app itself (issue 14).

`package.json` and `package-lock.json` name them; `make install` runs `npm ci`, which puts them
in node_modules/ (never in the repository, never fetched from a CDN by a browser). Only the
files a page uses are served: each package's folder of built files, under /vendor/<package>/.
A missing install is a 404 whose text says how to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, send_from_directory
from werkzeug.exceptions import NotFound

bp = Blueprint("assets", __name__)
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
SERVED = {  # package -> its folder of built files
    "bpmn-js": "bpmn-js/dist",
    "codemirror": "codemirror/lib",
    "codemirror-yaml": "codemirror/mode/yaml",
}


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Any:
    folder = SERVED.get(package)
    if folder is None:
        raise NotFound(f"no front-end package {package[:60]!r} is served")
    if not (NODE_MODULES / folder).is_dir():
        raise NotFound(f"the front-end package {package} is not installed: run `make install`")
    return send_from_directory(NODE_MODULES / folder, filename, max_age=3600)
