"""The BPMN the DSL compiles every shipped pathway to passes bpmnlint's recommended rules
with no error (issue 14, item 7): a colleague who opens it in another BPMN tool sees a model
those tools accept (every event named, nothing disconnected, no implicit splits, ...).
bpmnlint comes from the npm registry (package.json, installed by `make install`); the rules
are the repository's .bpmnlintrc. A missing install fails here, never skips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from adapters.settings import PROJECT_ROOT
from dsl import compile_pathway, load_pathway
from tests.unit.engine.test_task_reminders import VISITS

BPMNLINT = PROJECT_ROOT / "node_modules" / ".bin" / "bpmnlint"
SHIPPED = sorted((PROJECT_ROOT / "definitions").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_pathway_compiles_to_bpmn_that_bpmnlint_accepts(
        path: Path, tmp_path: Path) -> None:
    assert BPMNLINT.exists(), "bpmnlint is not installed: run `make install` (npm ci)"
    compiled = compile_pathway(load_pathway(path.read_text("utf-8"), str(path)))
    target = tmp_path / compiled.bpmn_file
    target.write_text(compiled.files()[compiled.bpmn_file], "utf-8")
    linted = subprocess.run(  # our own installed tool on our own output
        [str(BPMNLINT), "--config", str(PROJECT_ROOT / ".bpmnlintrc"), str(target)],
        capture_output=True, text=True, timeout=120, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert " error " not in linted.stdout, linted.stdout


def test_bpmnlint_does_find_an_error_in_an_unnamed_start(tmp_path: Path) -> None:
    """The check can fail: a start event with no name is an error under the same rules."""
    assert BPMNLINT.exists(), "bpmnlint is not installed: run `make install` (npm ci)"
    shipped = SHIPPED[0]
    compiled = compile_pathway(load_pathway(shipped.read_text("utf-8"), str(shipped)))
    text = compiled.files()[compiled.bpmn_file].replace('name="Case starts"', "", 1)
    assert 'id="start"' in text
    broken = tmp_path / compiled.bpmn_file
    broken.write_text(text, "utf-8")
    linted = subprocess.run(
        [str(BPMNLINT), "--config", str(PROJECT_ROOT / ".bpmnlintrc"), str(broken)],
        capture_output=True, text=True, timeout=120, check=False)
    assert linted.returncode != 0 and "label-required" in linted.stdout, linted.stdout


def test_a_task_with_a_reminder_and_an_escalation_passes_bpmnlint(tmp_path: Path) -> None:
    """Boundary timers on a task, their notification and follow-up paths (issue 15, item 4)."""
    assert BPMNLINT.exists(), "bpmnlint is not installed: run `make install` (npm ci)"
    compiled = compile_pathway(load_pathway(VISITS, "visits.yaml"))
    target = tmp_path / compiled.bpmn_file
    target.write_text(compiled.bpmn, "utf-8")
    linted = subprocess.run(
        [str(BPMNLINT), "--config", str(PROJECT_ROOT / ".bpmnlintrc"), str(target)],
        capture_output=True, text=True, timeout=120, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "problems" not in linted.stdout, linted.stdout  # not even a warning
