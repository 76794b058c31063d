"""The `pathways` command line. Every command takes --json for scripts.

With --json, results are JSON on stdout; failures exit non-zero and print
{"error": {"code", "message", "details"}} on stdout. Without it, results are short text and
errors go to stderr. No failure prints a traceback: a command line click cannot parse is an
`invalid_argument` error, and an exception nobody planned for is an `internal_error` whose
traceback is kept in the incident log (adapters.incidents).

The top group and what every command shares live in `common`; each feature's commands in a
module of their own, which registers them on the group when imported. COMMANDS names the
module of each top-level command and its short help: a command's module is imported only
when the command is used, so `pathways --help` (and a mistyped command line) starts without
the engine, SQLAlchemy and Alembic. tests/unit/test_cli_start.py keeps COMMANDS true.
"""

from __future__ import annotations

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

# command -> (module of adapters.cli that registers it, its short help in `pathways --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    'access': ('accounts',
              'Who opened which client record, when, why and what they saw.'),
    'allocate': ('migrate',
                'Set (or, with no option, show) which version new cases of PATHWAY get.'),
    'backup': ('backup',
              'Write a consistent backup of the whole database to FILE, while it is in use.'),
    'chain-head': ('integrity',
                   "Publish today's chain head (UTC day) over every case's last event hash, "
                   "unless it was published already; print it, to be kept outside the "
                   "database."),
    'cases': ('cases',
             'Cases: one client on one pathway version.'),
    'clients': ('clients',
               'People supported by the programme.'),
    'compile': ('definitions',
               'Compile a DSL pathway to BPMN 2.0 with a diagram (deterministic output).'),
    'definitions': ('definitions',
                   'Published pathways.'),
    'digest': ('digest',
               "Send today's e-mail digest of new and overdue tasks to each user who asked "
               "for it."),
    'events': ('cases',
              'Every recorded step of a case, in order.'),
    'export': ('exports',
              'Export records for other tools: XES event log, CSV, INDIGO impact bond data.'),
    'init': ('definitions',
            'Create the schema and publish everything in definitions/.'),
    'messages': ('cases',
                'Messages between cases.'),
    'migrate': ('migrate',
               'Move running cases between versions: `migrate PATHWAY --from A --to B`, and '
               '`migrate revert ID`, `migrate list`, `migrate show ID`.'),
    'orgs': ('accounts',
            'Organisations taking part in the programme.'),
    'outcomes': ('outcomes',
                'Outcome events: imported from files or recorded by pathway steps.'),
    'publish': ('definitions',
               "Publish FILE (BPMN or DSL YAML) as its pathway's next version; same content: no "
               "change."),
    'restore': ('backup',
               'Bring the backup FILE (from `pathways backup`) back into an empty database.'),
    'serve': ('serve',
             'Serve the web app: pages, /api/v1 and /health.'),
    'tasks': ('cases',
             'Human tasks cases are waiting on.'),
    'timers': ('cases',
              'Timer events waiting to fire.'),
    'users': ('accounts',
             'People who sign in to the caseworker web and the API.'),
    'validate': ('definitions',
                'Check definitions without publishing; every problem as FILE:LINE:COLUMN: '
                'message.'),
    'verify': ('integrity',
               "Recompute every case's chain of event hashes and the latest published chain "
               "head."),
    'versions': ('definitions',
                'Published versions of a pathway: list them, compare two.'),
    'worker': ('cases',
              "Fire due timers, deliver kept messages and move the cases that wait for their "
              "loop's next round to move to a migration's version, round after round."),
}
cli.lazy = {name: (f"adapters.cli.{module}", help) for name, (module, help) in COMMANDS.items()}


def load_all() -> None:
    """Import every command's module (what the tests that walk every command need)."""
    for name in COMMANDS:
        cli.get_command(None, name)  # type: ignore[arg-type]


__all__ = ["COMMANDS", "ID", "BoundedNumber", "Context", "JsonErrorsGroup", "UsageProblem",
           "case_json", "cli", "command", "dsl_error_json", "event_json", "load_all", "main",
           "problem_json", "task_json", "version_json"]
