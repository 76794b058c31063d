"""How `make test` spreads the suite over its xdist workers.

`--dist loadfile` sends each test file whole to one worker, so the run can end no sooner than
its longest file, and xdist hands out files by their number of tests, largest first, which
put few-but-slow files (4 workers x 10,000 timers, the CLI e2e runs) last: the run ended with
one worker busy and the other idle. Here a unit of work is a file *and the database its tests
run on* (the id's leading `sqlite` / `postgresql`, after a `live` or `reload` mode), so the
largest files (the access matrix, the conformance suites) spread over both workers while a
module fixture built once per database is still built once; and the files known to be slow
go first, then the rest by size.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

DATABASES = ("sqlite", "postgresql")
MODES = ("live", "reload")

# The files whose units take a worker longest (measured: a single test of 80 s, CLI runs of
# 40 s a database), longest first; the rest follow by their number of tests.
LONGEST_FIRST = (
    "tests/integration/test_scaled_workers.py",
    "tests/e2e/test_cli_versions.py",
    "tests/web/test_access_matrix.py",
    "tests/conformance/test_betsy_suite.py",
    "tests/integration/test_scale_bench.py",
    "tests/e2e/test_youth_justice_pathway.py",
    "tests/conformance/test_compensation.py",
    "tests/conformance/test_camunda.py",
    "tests/conformance/test_workflow_patterns.py",
    "tests/security/test_open_redirect.py",
)


def work_unit(nodeid: str) -> str:
    """The file, and the database when the test's parameters start with one."""
    path, _, rest = nodeid.partition("::")
    parameters = rest.partition("[")[2].rstrip("]").split("-")
    if parameters and parameters[0] in MODES:
        parameters = parameters[1:]
    if parameters and parameters[0] in DATABASES:
        return f"{path}[{parameters[0]}]"
    return path


def order_for_workers(items: list[pytest.Item]) -> None:
    """Known-slow files first, then larger units first; stable, so the same on every worker
    (xdist requires every worker to collect the same order)."""
    rank = {path: number for number, path in enumerate(LONGEST_FIRST)}
    sizes = Counter(work_unit(item.nodeid) for item in items)
    items.sort(key=lambda item: (rank.get(item.nodeid.split("::", 1)[0], len(rank)),
                                 -sizes[work_unit(item.nodeid)]))


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """A loadfile scheduler whose unit is `work_unit`, in collection order (which
    `order_for_workers` has set), or None to leave any other `--dist` to xdist."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileAndDatabaseScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return FileAndDatabaseScheduling(config, log)
