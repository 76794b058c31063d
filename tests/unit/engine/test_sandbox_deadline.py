"""The sandbox's time limit stops a definition's script, and only the script. A garbage
collector callback that runs while the script allocates (hypothesis registers one; so may
any library) was stopped instead, mid-way, once the limit had passed: Python ignores an
exception raised there (reporting it as unraisable: CI at this stop saw it as an error in the
next test's setup) and, since it came from the trace function, turns tracing off, so the
script itself then ran on with no limit at all."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest

from engine.workflow.sandbox import SandboxEnvironment, ScriptTimeout

# allocates for seconds: the collector runs again and again while the script does (finite,
# so that a limit that stopped working shows as a script that was not stopped, not a hang)
ALLOCATING = """
kept = []
for round in range(3):
  for number in range(1000000):
      kept.append([number])
      if len(kept) > 100000:
          kept = []
"""


def test_a_collector_callback_is_never_stopped_by_a_script_s_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    finished: list[str] = []
    ignored: list[Any] = []

    def callback(phase: str, _info: dict[str, int]) -> None:
        for _ in range(20_000):  # long enough that the limit passes while it runs
            pass
        finished.append(phase)

    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    gc.callbacks.append(callback)
    try:
        with pytest.raises(ScriptTimeout):
            SandboxEnvironment(time_limit=0.2).execute(ALLOCATING, {})
    finally:
        gc.callbacks.remove(callback)
    assert finished, "the collector ran while the script did"
    assert ignored == [], [str(entry.exc_value) for entry in ignored]
