"""A pathway with a `set` step (and required_when and computed fields) compiles to a
diagram bpmnlint accepts and whose shapes and labels keep apart (issue 15)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from adapters.settings import PROJECT_ROOT
from dsl import compile_pathway, load_pathway
from tests.diagram_geometry import problems
from tests.unit.engine.test_computed_values import PHQ9, SCORED

BPMNLINT = PROJECT_ROOT / "node_modules" / ".bin" / "bpmnlint"


def test_set_steps_and_computed_fields_compile_to_clean_diagrams(tmp_path: Path) -> None:
    assert BPMNLINT.exists(), "bpmnlint is not installed: run `make install` (npm ci)"
    # (PHQ-9 with q3 answered on every path: the diagram, not the planted mistake)
    for text in (PHQ9.replace("q3: {type: scale, min: 0, max: 3}",
                              "q3: {type: scale, min: 0, max: 3, required: true}"), SCORED):
        compiled = compile_pathway(load_pathway(text, "p.yaml"))
        bpmn = compiled.files()[compiled.bpmn_file]
        assert problems(bpmn) == []
        target = tmp_path / compiled.bpmn_file
        target.write_text(bpmn, "utf-8")
        linted = subprocess.run(  # our own installed tool on our own output
            [str(BPMNLINT), "--config", str(PROJECT_ROOT / ".bpmnlintrc"), str(target)],
            capture_output=True, text=True, timeout=120, check=False)
        assert linted.returncode == 0, linted.stdout + linted.stderr
