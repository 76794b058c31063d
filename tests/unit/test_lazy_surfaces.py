"""The packages whose public names load on first use (engine.workflow, engine.versions,
engine.outcomes, engine.cases, adapters.sql, adapters.sql.repositories) give the same
object for each name as the module defining it, whatever was imported before: in a fresh
interpreter, after every submodule is imported, no public name is a module it should not
be (engine.outcomes.payment_statement is a function and a submodule's name)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAZY = ("engine.workflow", "engine.versions", "engine.outcomes", "engine.cases",
        "adapters.sql", "adapters.sql.repositories")

_PROBE = f"""
import importlib, json, pkgutil, types
found = {{}}
for name in {LAZY!r}:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    found[name] = sorted(n for n in package.__all__
                         if isinstance(getattr(package, n), types.ModuleType))
print(json.dumps(found))
"""

# the public names that are submodules, by intent
MODULES = {"engine.outcomes": ["activity", "analysis", "disclosure", "engagement", "estimates",
                               "followup", "protected_tables", "tally"]}


def test_no_public_name_is_shadowed_by_a_submodule() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout) == {name: MODULES.get(name, []) for name in LAZY}
