"""The order `make test` hands work units to its xdist workers (tests/scheduling.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.scheduling import DurationRecorder, measured_durations, order_for_workers, work_unit


def item(nodeid: str) -> Any:
    return SimpleNamespace(nodeid=nodeid)


@pytest.mark.parametrize(("nodeid", "unit"), [
    ("tests/web/test_api.py::test_x[sqlite]", "tests/web/test_api.py[sqlite]"),
    ("tests/web/test_api.py::test_x[postgresql-admin]", "tests/web/test_api.py[postgresql]"),
    ("tests/conformance/test_b.py::test_y[live-sqlite-3]", "tests/conformance/test_b.py[sqlite]"),
    ("tests/conformance/test_b.py::test_y[reload-postgresql]",
     "tests/conformance/test_b.py[postgresql]"),
    ("tests/unit/test_a.py::test_z[3]", "tests/unit/test_a.py"),
    ("tests/unit/test_a.py::test_z", "tests/unit/test_a.py"),
])
def test_a_unit_is_a_file_and_its_database(nodeid: str, unit: str) -> None:
    assert work_unit(nodeid) == unit


def test_units_go_longest_first_by_measured_seconds_and_unknown_ones_by_their_size() -> None:
    items = ([item(f"tests/a.py::t{n}[sqlite]") for n in range(3)]
             + [item("tests/slow.py::t[postgresql]")]
             + [item(f"tests/new.py::t{n}") for n in range(100)]
             + [item("tests/b.py::t")]
             + [item(f"tests/e2e/test_new_cli.py::t{n}[sqlite]") for n in range(2)]
             + [item(f"tests/unit/test_new.py::t{n}") for n in range(100)])
    order_for_workers(items, {"tests/a.py[sqlite]": 5.0, "tests/slow.py[postgresql]": 90.0,
                              "tests/b.py": 1.0})
    units = list(dict.fromkeys(work_unit(i.nodeid) for i in items))
    # unknown: 100 tests at 0.2 s (20 s), two CLI end-to-end tests at 6 s (12 s), 100 unit
    # tests at 0.03 s (3 s)
    assert units == ["tests/slow.py[postgresql]", "tests/new.py",
                     "tests/e2e/test_new_cli.py[sqlite]", "tests/a.py[sqlite]",
                     "tests/unit/test_new.py", "tests/b.py"]


def test_a_recorded_run_is_read_back_in_the_same_units(tmp_path: Path) -> None:
    target = tmp_path / "durations.json"
    recorder = DurationRecorder(target)
    for nodeid, seconds in [("tests/a.py::t[sqlite]", 1.5), ("tests/a.py::u[sqlite]", 2.0),
                            ("tests/a.py::t[postgresql]", 0.25)]:
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=seconds))  # type: ignore[arg-type]
    recorder.pytest_sessionfinish()
    assert measured_durations(target) == {"tests/a.py[sqlite]": 3.5, "tests/a.py[postgresql]": 0.25}
    assert list(json.loads(target.read_text())) == ["tests/a.py[sqlite]", "tests/a.py[postgresql]"]


def test_a_missing_or_broken_durations_file_means_estimates_only(tmp_path: Path) -> None:
    assert measured_durations(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("[1, 2")
    assert measured_durations(tmp_path / "bad.json") == {}


def test_the_committed_durations_name_units_of_files_that_exist() -> None:
    """A renamed or deleted file would otherwise keep a stale estimate for ever."""
    root = Path(__file__).resolve().parents[2]
    for unit in measured_durations():
        assert (root / unit.split("[")[0]).is_file(), unit
