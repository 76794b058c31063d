"""The layering rules the folder and module names promise, checked rather than hoped for.

Every module of engine/, dsl/, adapters/ and web/ is read with `ast`, and every import it makes
is found: `import x`, `from x import y` (y resolved to the submodule x.y where it is one),
relative imports, and imports by string at run time (`importlib.import_module("x")`,
`__import__("x")`). RULES then says, per part of the system, what it must not import. The
engine's modules are split into features (FEATURES); a new engine module must be placed in one,
so it is covered by a rule from the start. The rules are derived from the structure as it is,
so they pass today and fail on the first import that crosses a line.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("engine", "dsl", "adapters", "web")
WEB_OR_STORAGE = ("flask", "werkzeug", "jinja2", "sqlalchemy", "alembic", "psycopg", "click",
                  "adapters", "web")
COMPUTED = "<import by computed name>"

# The engine's modules by feature. Dependencies run down this list's explanation:
# kernel <- workflow <- access <- casework; kernel <- outcomes; exports reads outcomes + access.
FEATURES: dict[str, tuple[str, ...]] = {
    # shared vocabulary and pure helpers: import nothing but each other
    "kernel": ("engine.errors", "engine.model", "engine.ports", "engine.numbers", "engine.text",
               "engine.plain", "engine.csvout", "engine.data_names", "engine.client_fields",
               "engine.limits", "engine.dotted", "engine.schema_errors"),
    # running cases on SpiffWorkflow: publish, start, complete, timers, versions, migration
    "workflow": ("engine", "engine.services", "engine.runner", "engine.definitions",
                 "engine.state", "engine.migration", "engine.validation", "engine.sandbox",
                 "engine.expressions", "engine.allocation", "engine.forms", "engine.clock",
                 "engine.joins", "engine.case_runtime", "engine.live_cases",
                 "engine.case_commands", "engine.case_queries", "engine.client_commands",
                 "engine.message_commands", "engine.version_commands",
                 "engine.migration_commands", "engine.bpmn_xml", "engine.bpmn_events",
                 "engine.bundle_files", "engine.definition_model", "engine.sensitivity",
                 "engine.validation_document", "engine.validation_rules_flow",
                 "engine.validation_rules_values"),
    # who may see what of a case: roles, sensitive fields
    "access": ("engine.access", "engine.privacy"),
    # the caseworker's side: consent, drafts, inbox, break glass, the access log
    "casework": ("engine.casework", "engine.task_start", "engine.casework_access",
                 "engine.casework_views", "engine.casework_inbox", "engine.casework_tasks",
                 "engine.casework_incidents", "engine.casework_clients",
                 "engine.casework_records"),
    # user accounts and sessions
    "accounts": ("engine.accounts",),
    # imported outcome events, measures, cohorts, payments, the dashboard's statistics
    "outcomes": ("engine.outcomes", "engine.outcome_csv", "engine.outcome_measures",
                 "engine.payments", "engine.payment_mechanism",
                 "engine.payment_config", "engine.payment_statement", "engine.payment_figures",
                 "engine.payment_checks", "engine.followup", "engine.disclosure",
                 "engine.analysis", "engine.estimates", "engine.case_events",
                 "engine.activity", "engine.engagement", "engine.protected_tables"),
    # case data out: CSV, XES, INDIGO
    "exports": ("engine.exports", "engine.xes", "engine.indigo", "engine.event_labels"),
}


def feature(*names: str) -> tuple[str, ...]:
    return tuple(module for name in names for module in FEATURES[name])


@dataclass(frozen=True)
class Rule:
    """Modules in `sources` import nothing in `forbidden` unless it is one of `allowed`.

    `forbidden` names packages (a name covers its submodules); `allowed` names single
    modules; `sources` names packages, or single modules where `modules_only`."""

    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()  # source modules the rule does not apply to
    exempt_packages: tuple[str, ...] = ()  # ... and packages, each with all its submodules
    modules_only: bool = False


RULES: tuple[Rule, ...] = (
    Rule("the core (engine, dsl) uses no web or storage technology",
         ("engine", "dsl"), WEB_OR_STORAGE),
    Rule("the core imports nothing by a computed name (no rule could check it)",
         ("engine", "dsl"), (COMPUTED,)),
    Rule("dsl is text to BPMN: of the engine only errors, schema errors and the expression "
         "language",
         ("dsl",), ("engine",),
         allowed=("engine.errors", "engine.data_names", "engine.expressions",
                  "engine.schema_errors")),
    Rule("the kernel imports no feature of the engine and no workflow library",
         feature("kernel"), ("engine", "SpiffWorkflow", "RestrictedPython"),
         allowed=feature("kernel"), modules_only=True),
    Rule("workflow does not reach up into access, casework, accounts, outcomes or exports",
         feature("workflow"), feature("access", "casework", "accounts", "outcomes", "exports"),
         modules_only=True),
    Rule("access does not import casework, accounts, outcomes or exports",
         feature("access"), feature("casework", "accounts", "outcomes", "exports"),
         modules_only=True),
    Rule("casework does not import outcomes, accounts or exports internals",
         feature("casework"), feature("outcomes", "accounts", "exports"), modules_only=True),
    Rule("accounts stand alone on the kernel",
         feature("accounts"), ("engine", "SpiffWorkflow"), allowed=feature("kernel"),
         modules_only=True),
    Rule("outcomes import no casework, workflow, access or accounts internals, nor SpiffWorkflow",
         feature("outcomes"), ("engine", "SpiffWorkflow", "RestrictedPython"),
         allowed=feature("kernel", "outcomes"), modules_only=True),
    Rule("exports read outcomes and access rules, never the workflow or casework",
         feature("exports"), ("engine", "SpiffWorkflow"),
         allowed=feature("kernel", "outcomes", "access", "exports"), modules_only=True),
    Rule("the web reaches storage only through the engine's services",
         ("web",), ("adapters.sql", "alembic", "psycopg", "adapters.cli", "click")),
    Rule("web blueprints use no SQL (only the app factory maps database errors)",
         ("web",), ("sqlalchemy",), exempt=("web",)),
    Rule("storage knows nothing of the web, the CLI or the wiring",
         ("adapters.sql",), ("flask", "web", "adapters.cli", "adapters.bootstrap", "click")),
    Rule("nothing imports the command line",
         PACKAGES, ("adapters.cli",), exempt_packages=("adapters.cli",)),
)


def matches(name: str, prefix: str, *, exact: bool = False) -> bool:
    return name == prefix or (not exact and name.startswith(prefix + "."))


# -- finding every import ------------------------------------------------------------------


def modules_under(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Module name -> file for every .py file of the packages."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dynamic_import(call: ast.Call) -> tuple[str, str | None] | None:
    """(name or COMPUTED, package) of an import_module / __import__ call; None otherwise."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in ("import_module", "__import__") or not call.args:
        return None
    name = _literal(call.args[0])
    package = next((_literal(k.value) for k in call.keywords if k.arg == "package"), None)
    if package is None and called == "import_module" and len(call.args) > 1:
        package = _literal(call.args[1])
    return (name if name is not None else COMPUTED), package


def _absolute(name: str, level: int, module: str, is_package: bool) -> str:
    """`name` imported with `level` leading dots from inside `module`."""
    if level == 0:
        return name
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """Every module `module` (at `path`) imports, by statement or by string at run time."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, module, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.add(sub if sub in known else base)
        elif isinstance(node, ast.Call) and (found := _dynamic_import(node)):
            name, package = found
            level = len(name) - len(name.lstrip("."))
            if level and package is not None:
                name = _absolute(name[level:], level, package, True)
            names.add(name)
    return names


def violations(root: Path, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """`module imports name: rule` for every import that breaks a rule."""
    modules = modules_under(root)
    known = set(modules)
    found = []
    for module, path in modules.items():
        imported = imports_of(path, module, known)
        for rule in rules:
            if not _applies(rule, module):
                continue
            for name in sorted(imported):
                if any(matches(name, f) for f in rule.forbidden) and not any(
                        matches(name, a, exact=True) for a in rule.allowed):
                    found.append(f"{module} imports {name}: {rule.name}")
    return found


def _applies(rule: Rule, module: str) -> bool:
    if module in rule.exempt or any(matches(module, p) for p in rule.exempt_packages):
        return False
    return any(matches(module, source, exact=rule.modules_only) for source in rule.sources)


# -- the rules hold ------------------------------------------------------------------------


def test_no_module_breaks_a_layering_rule() -> None:
    assert violations(ROOT) == []


def test_every_engine_module_belongs_to_exactly_one_feature() -> None:
    engine_modules = set(modules_under(ROOT, ("engine",)))
    placed = [module for modules in FEATURES.values() for module in modules]
    assert len(placed) == len(set(placed)), "a module is in two features"
    assert engine_modules == set(placed)


def test_every_rule_applies_to_some_module() -> None:
    """A rule naming modules that no longer exist would pass forever."""
    modules = set(modules_under(ROOT))
    for rule in RULES:
        assert any(_applies(rule, module) for module in modules), rule.name


def test_importing_every_core_module_loads_no_web_or_storage_technology() -> None:
    """At run time too: each engine and dsl module imported, then sys.modules inspected."""
    core = sorted(modules_under(ROOT, ("engine", "dsl")))
    probe = ("import importlib, json, sys\n"
             f"for name in {core!r}: importlib.import_module(name)\n"
             f"tech = {WEB_OR_STORAGE!r}\n"
             "print(json.dumps({'loaded': sorted(m for m in sys.modules "
             "if m in " + repr(core) + "), 'tech': sorted(m for m in sys.modules "
             "if m.split('.')[0] in tech)}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out)
    assert result == {"loaded": core, "tech": []}
    assert len(core) > 30  # every module, not the 14 the package's own imports pull in


# -- the checker catches what it should ----------------------------------------------------


PLANTED = {
    "engine/__init__.py": "from engine.services import Engine\n",
    "engine/errors.py": "",
    "engine/model.py": "from engine import errors\n",
    "engine/services.py": "from . import errors\nfrom .model import Thing\n",
    "engine/casework.py": "from engine import services\n",
    # outcomes pulls casework in by string at run time
    "engine/outcomes.py": "import importlib\ncw = importlib.import_module('engine.casework')\n",
    # payments does it by a relative import from the package
    "engine/payments.py": "from . import casework\nfrom .errors import Oops\n",
    # followup loads the web framework with __import__, and the relative import_module form
    "engine/followup.py": ("from importlib import import_module\nflask = __import__('flask')\n"
                           "acc = import_module('.accounts', package='engine')\n"),
    "engine/accounts.py": "",
    # disclosure imports by a name no rule can read
    "engine/disclosure.py": "import importlib\nmod = importlib.import_module(NAME)\n",
    "dsl/__init__.py": "",
    "dsl/compile.py": "from engine.services import Engine\n",
    "web/__init__.py": "import sqlalchemy\n",
    "web/api.py": "from adapters.sql import tables\nfrom sqlalchemy import select\n",
    "adapters/__init__.py": "",
    "adapters/cli/__init__.py": "import web\nfrom adapters.cli import cases\n",
    # the command line's own modules import each other freely
    "adapters/cli/cases.py": "from adapters.cli.common import cli\n",
    "adapters/cli/common.py": "",
    "adapters/sql/__init__.py": "from adapters import cli\n",
    # a submodule of the command line is the command line too
    "adapters/sql/tables.py": "from adapters.cli.common import ID\n",
}


def test_planted_violations_are_each_reported(tmp_path: Path) -> None:
    for name, text in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = {line.split(":")[0] for line in violations(tmp_path)}
    assert found == {
        "engine.outcomes imports engine.casework",
        "engine.payments imports engine.casework",
        "engine.followup imports flask",
        "engine.followup imports engine.accounts",
        f"engine.disclosure imports {COMPUTED}",
        "dsl.compile imports engine.services",
        "web.api imports adapters.sql.tables",
        "web.api imports sqlalchemy",
        "adapters.sql imports adapters.cli",
        "adapters.sql.tables imports adapters.cli.common",
    }


@pytest.mark.parametrize(("text", "module", "expected"), [
    ("import importlib\nimportlib.import_module('flask.json')", "engine.x", {"importlib",
                                                                            "flask.json"}),
    ("__import__('sqlalchemy')", "engine.x", {"sqlalchemy"}),
    ("from .. import web", "engine.sub.x", {"engine"}),
    ("from . import services", "engine", {"engine.services"}),
    ("from .services import Engine", "engine.casework", {"engine.services"}),
    ("import_module(name)", "dsl.x", {COMPUTED}),
])
def test_imports_are_found_in_every_form(tmp_path: Path, text: str, module: str,
                                         expected: set[str]) -> None:
    path = tmp_path / ("__init__.py" if module == "engine" else "x.py")
    path.write_text(text)
    assert imports_of(path, module, {"engine.services"}) == expected
