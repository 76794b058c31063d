"""How `make test` spreads the suite over its xdist workers.

`--dist loadfile` sends each test file whole to one worker, so the run can end no sooner than
its longest file, and xdist hands out files by their number of tests, largest first, which
put few-but-slow files (4 workers x 10,000 timers, the CLI e2e runs) last: the run ended with
one worker busy and the other idle. Here a unit of work is a file *and the database its tests
run on* (the id's leading `sqlite` / `postgresql`, after a `live` or `reload` mode), so the
largest files (the access matrix, the conformance suites) spread over both workers while a
module fixture built once per database is still built once; and the units go out longest
first, by the seconds a full run measured (tests/unit_durations.json; a unit it does not
know is estimated from its number of tests), which is the classic longest-processing-time
rule: the last unit to start is a short one, so the workers finish close together.

`PATHWAYS_RECORD_TEST_DURATIONS=FILE make test` writes a run's measured seconds per unit to
FILE; copy it over tests/unit_durations.json when the suite's shape has changed.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

DATABASES = ("sqlite", "postgresql")
MODES = ("live", "reload")

DURATIONS = Path(__file__).with_name("unit_durations.json")
RECORD_VARIABLE = "PATHWAYS_RECORD_TEST_DURATIONS"
# A unit the durations file does not know (a new file): seconds a test by the folder it is
# in (each CLI end-to-end test runs the CLI in several subprocesses; a unit test runs in
# milliseconds), so a new file of slow tests is not sent last.
SECONDS_PER_UNKNOWN_TEST = {
    "tests/e2e/": 6.0, "tests/browser/": 3.0, "tests/security/test_csv_injection": 8.0,
    "tests/integration/": 0.6, "tests/robustness/": 0.4, "tests/conformance/": 0.3,
    "tests/security/": 0.3, "tests/web/": 0.15, "tests/unit/": 0.03,
}
DEFAULT_SECONDS_PER_TEST = 0.2


def seconds_per_test(unit: str) -> float:
    """The guess for a unit no run has measured: its folder's, the longest prefix first."""
    for prefix in sorted(SECONDS_PER_UNKNOWN_TEST, key=len, reverse=True):
        if unit.startswith(prefix):
            return SECONDS_PER_UNKNOWN_TEST[prefix]
    return DEFAULT_SECONDS_PER_TEST


def measured_durations(path: Path = DURATIONS) -> dict[str, float]:
    """Seconds per unit from a recorded run, or nothing when there is no such file."""
    try:
        return {str(unit): float(seconds) for unit, seconds in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def work_unit(nodeid: str) -> str:
    """The file, and the database when the test's parameters start with one."""
    path, _, rest = nodeid.partition("::")
    parameters = rest.partition("[")[2].rstrip("]").split("-")
    if parameters and parameters[0] in MODES:
        parameters = parameters[1:]
    if parameters and parameters[0] in DATABASES:
        return f"{path}[{parameters[0]}]"
    return path


def order_for_workers(items: list[pytest.Item], durations: dict[str, float] | None = None) -> None:
    """Longest units first, by measured (or estimated) seconds; ties by name, so the order is
    the same on every worker (xdist requires every worker to collect the same order)."""
    known = measured_durations() if durations is None else durations
    sizes = Counter(work_unit(item.nodeid) for item in items)

    def estimate(unit: str) -> float:
        return known.get(unit, sizes[unit] * seconds_per_test(unit))

    items.sort(key=lambda item: (-estimate(work_unit(item.nodeid)), work_unit(item.nodeid)))


class DurationRecorder:
    """Adds up each unit's setup, call and teardown seconds as the controller receives the
    reports, and writes them when the session ends (only when asked, by RECORD_VARIABLE)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[work_unit(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        ranked = sorted(self.seconds.items(), key=lambda pair: (-pair[1], pair[0]))
        self.target.write_text(json.dumps({unit: round(seconds, 2) for unit, seconds in ranked},
                                          indent=1) + "\n")


def register_duration_recorder(config: pytest.Config) -> None:
    """In the controller only (an xdist worker sees just its own share of the reports)."""
    target = os.environ.get(RECORD_VARIABLE)
    if target and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(Path(target)), "unit-durations")


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
