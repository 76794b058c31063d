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
import importlib
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

# The engine's features: a package each (the kernel is the shared vocabulary of single modules
# at the top; "engine" alone is the root module, which re-exports Engine and the errors).
# Dependencies run one way: kernel <- workflow <- versions <- cases <- casework; workflow <-
# access <- casework; kernel <- accounts; kernel <- outcomes <- exports -> access.
FEATURES: dict[str, tuple[str, ...]] = {
    # shared vocabulary and pure helpers: import nothing but each other
    "kernel": ("engine.errors", "engine.model", "engine.ports", "engine.account_ports",
               "engine.summary_ports", "engine.note_ports", "engine.notice_ports",
               "engine.notice_model", "engine.attachment_ports",
               "engine.numbers", "engine.text",
               "engine.plain", "engine.csvout", "engine.data_names", "engine.client_fields",
               "engine.limits", "engine.dotted", "engine.schema_errors",
               "engine.integrity", "engine.lazy"),
    # definitions and running one case on SpiffWorkflow; the transaction template
    "workflow": ("engine.workflow",),
    # publishing, allocation, migration between versions
    "versions": ("engine.versions",),
    # Engine and its case, client and message commands (and the root module re-exporting it)
    "cases": ("engine", "engine.cases"),
    # who may see what of a case: roles, sensitive fields
    "access": ("engine.access",),
    # the caseworker's side: consent, drafts, inbox, break glass, the access log
    "casework": ("engine.casework",),
    # user accounts and sessions
    "accounts": ("engine.accounts",),
    # imported outcome events, measures, cohorts, payments, the dashboard's statistics
    "outcomes": ("engine.outcomes",),
    # case data out: CSV, XES, INDIGO
    "exports": ("engine.exports",),
}
# the engine's feature packages: its folders with an __init__
FEATURE_PACKAGES = tuple(sorted(init.parent.name
                                for init in (ROOT / "engine").glob("*/__init__.py")))


def feature(*names: str) -> tuple[str, ...]:
    return tuple(module for name in names for module in FEATURES[name])


@dataclass(frozen=True)
class Rule:
    """Modules in `sources` import nothing in `forbidden` unless it is in `allowed`.

    Each name covers its submodules, except that where `features` is set, `engine` in
    `sources` or `allowed` is the root module alone (a member of the cases feature), not the
    whole package."""

    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()  # source modules the rule does not apply to
    exempt_packages: tuple[str, ...] = ()  # ... and packages, each with all its submodules
    features: bool = False


RULES: tuple[Rule, ...] = (
    Rule("the core (engine, dsl) uses no web or storage technology",
         ("engine", "dsl"), WEB_OR_STORAGE),
    Rule("the core imports nothing by a computed name (no rule could check it)",
         ("engine", "dsl"), (COMPUTED,)),
    Rule("dsl is text to BPMN: of the engine only errors, schema errors, the expression "
         "language and the message template grammar",
         ("dsl",), ("engine",),
         allowed=("engine.errors", "engine.data_names", "engine.workflow.expressions",
                  "engine.schema_errors", "engine.workflow.message_templates")),
    Rule("the kernel imports no feature of the engine and no workflow library",
         feature("kernel"), ("engine", "SpiffWorkflow", "RestrictedPython"),
         allowed=feature("kernel"), features=True),
    Rule("workflow builds on the kernel alone",
         feature("workflow"), ("engine",), allowed=feature("kernel", "workflow"), features=True),
    Rule("versions build on the workflow alone",
         feature("versions"), ("engine",), allowed=feature("kernel", "workflow", "versions"),
         features=True),
    Rule("cases build on the workflow and versions, never on casework, outcomes or exports",
         feature("cases"), ("engine",),
         allowed=feature("kernel", "workflow", "versions", "cases"), features=True),
    Rule("access rules read definitions, never casework, cases, outcomes or exports",
         feature("access"), ("engine",), allowed=feature("kernel", "workflow", "access"),
         features=True),
    Rule("casework builds on cases, workflow and access; never outcomes, accounts or exports",
         feature("casework"), ("engine",),
         allowed=feature("kernel", "workflow", "versions", "cases", "access", "casework"),
         features=True),
    Rule("accounts stand alone on the kernel",
         feature("accounts"), ("engine", "SpiffWorkflow"), allowed=feature("kernel", "accounts"),
         features=True),
    Rule("outcomes import no casework, workflow, access or accounts internals, nor SpiffWorkflow",
         feature("outcomes"), ("engine", "SpiffWorkflow", "RestrictedPython"),
         allowed=feature("kernel", "outcomes"), features=True),
    Rule("exports read outcomes and access rules, never the workflow or casework",
         feature("exports"), ("engine", "SpiffWorkflow"),
         allowed=feature("kernel", "outcomes", "access", "exports"), features=True),
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
                        matches(name, a, exact=_exact(rule, a)) for a in rule.allowed):
                    found.append(f"{module} imports {name}: {rule.name}")
    return found


def _applies(rule: Rule, module: str) -> bool:
    if module in rule.exempt or any(matches(module, p) for p in rule.exempt_packages):
        return False
    return any(matches(module, source, exact=_exact(rule, source)) for source in rule.sources)


def _exact(rule: Rule, name: str) -> bool:
    """Whether `name` in the rule stands for that module alone (see Rule)."""
    return rule.features and name == "engine"


# -- the rules hold ------------------------------------------------------------------------


def test_no_module_breaks_a_layering_rule() -> None:
    assert violations(ROOT) == []


def test_every_engine_module_belongs_to_exactly_one_feature() -> None:
    for module in modules_under(ROOT, ("engine",)):
        owners = [name for name, entries in FEATURES.items()
                  if any(matches(module, entry, exact=entry == "engine") for entry in entries)]
        assert len(owners) == 1, f"{module} is in features {owners}"


def test_outside_the_engine_a_feature_is_used_through_its_public_surface() -> None:
    """web/, adapters/ and bench/ import engine.<feature> itself, or a module of it that the
    package lists in __all__ (a public module such as engine.outcomes.analysis), never its
    other modules: each __init__ is the feature's surface."""
    modules = modules_under(ROOT)
    known = set(modules)
    public = {package: set(importlib.import_module(f"engine.{package}").__all__)
              for package in FEATURE_PACKAGES}
    reaching = []
    for module, path in modules.items():
        if module.split(".")[0] not in ("web", "adapters", "bench"):
            continue
        for name in sorted(imports_of(path, module, known)):
            parts = name.split(".")
            if (len(parts) >= 3 and parts[0] == "engine" and parts[1] in public
                    and parts[2] not in public[parts[1]]):
                reaching.append(f"{module} imports {name}")
    assert reaching == []


def test_each_public_surface_names_only_what_its_package_has() -> None:
    for package in FEATURE_PACKAGES:
        surface = importlib.import_module(f"engine.{package}")
        assert surface.__all__, package
        for name in surface.__all__:
            assert hasattr(surface, name), f"engine.{package}.__all__ names {name}"


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


def test_the_command_line_starts_without_the_statistics_libraries() -> None:
    """scipy and statsmodels take over a second to import: every command-line call and worker
    start would pay it without computing an estimate, so they load on first use (and when the
    web app is created). The estimates still compute once they are needed."""
    probe = ("import json, sys\n"
             "import adapters.cli, adapters.bootstrap\n"
             "before = sorted(m for m in ('scipy', 'statsmodels') if m in sys.modules)\n"
             "from engine.outcomes.estimates import proportion_ci\n"
             "share = proportion_ci(3, 10)\n"
             "after = sorted(m for m in ('scipy', 'statsmodels') if m in sys.modules)\n"
             "print(json.dumps({'before': before, 'after': after, 'low': share.ci_low}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out)
    assert result["before"] == []
    assert result["after"] == ["scipy", "statsmodels"]
    assert result["low"] == pytest.approx(0.1078, abs=1e-4)  # Wilson, 3 of 10


# -- the checker catches what it should ----------------------------------------------------


PLANTED = {
    "engine/__init__.py": "from engine.cases.services import Engine\n",
    "engine/errors.py": "",
    "engine/model.py": "from engine import errors\n",
    "engine/cases/__init__.py": "",
    "engine/cases/services.py": "from ..errors import Oops\nfrom engine.model import Thing\n",
    # workflow reaches up into the cases built on it
    "engine/workflow/__init__.py": "",
    "engine/workflow/runner.py": "from engine.cases import services\n",
    "engine/casework/__init__.py": "from engine.cases import services\n",
    # outcomes pulls casework in by string at run time
    "engine/outcomes/__init__.py": ("import importlib\n"
                                    "cw = importlib.import_module('engine.casework')\n"),
    # payments does it by a relative import from the engine package
    "engine/outcomes/payments.py": "from .. import casework\nfrom ..errors import Oops\n",
    # followup loads the web framework with __import__, and the relative import_module form
    "engine/outcomes/followup.py": ("from importlib import import_module\n"
                                    "flask = __import__('flask')\n"
                                    "acc = import_module('..accounts',\n"
                                    "                    package='engine.outcomes')\n"),
    "engine/accounts.py": "",
    # disclosure imports by a name no rule can read
    "engine/outcomes/disclosure.py": "import importlib\nmod = importlib.import_module(NAME)\n",
    "dsl/__init__.py": "",
    "dsl/compile.py": "from engine.cases.services import Engine\n",
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
        "engine.workflow.runner imports engine.cases.services",
        "engine.outcomes imports engine.casework",
        "engine.outcomes.payments imports engine.casework",
        "engine.outcomes.followup imports flask",
        "engine.outcomes.followup imports engine.accounts",
        f"engine.outcomes.disclosure imports {COMPUTED}",
        "dsl.compile imports engine.cases.services",
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
