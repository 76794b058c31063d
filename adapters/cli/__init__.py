"""The `pathways` command line. Every command takes --json for scripts.

With --json, results are JSON on stdout; failures exit non-zero and print
{"error": {"code", "message", "details"}} on stdout. Without it, results are short text and
errors go to stderr. No failure prints a traceback: a command line click cannot parse is an
`invalid_argument` error, and an exception nobody planned for is an `internal_error` whose
traceback is kept in the incident log (adapters.incidents).

The top group and what every command shares live in `common`; each feature's commands in a
module of their own, which registers them on the group when imported here.
"""

from __future__ import annotations

from adapters.cli import (  # noqa: F401  (imported to register their commands)
    accounts,
    backup,
    cases,
    clients,
    definitions,
    exports,
    migrate,
    outcomes,
    serve,
)
from adapters.cli.common import (
    ID,
    BoundedNumber,
    Context,
    JsonErrorsGroup,
    UsageProblem,
    case_json,
    cli,
    command,
    dsl_error_json,
    event_json,
    main,
    problem_json,
    task_json,
    version_json,
)

__all__ = ["ID", "BoundedNumber", "Context", "JsonErrorsGroup", "UsageProblem", "case_json",
           "cli", "command", "dsl_error_json", "event_json", "main", "problem_json",
           "task_json", "version_json"]
