"""bench/timers.py runs end to end (tiny sizes) and shows group commit's effect in what it
counts: one commit a timer before, fewer with batches."""

from __future__ import annotations

import re

import pytest

from bench import timers
from engine.cases import case_commands


def test_the_timer_bench_prints_both_ways_with_commits_a_timer(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # a loaded test machine may take longer than a batch's time bound for six cases
    monkeypatch.setattr(case_commands, "TIMER_BATCH_SECONDS", 600.0)
    assert timers.main(["--cases", "6", "--rounds", "1", "--postgres", "off",
                        "--durability", "relaxed"]) == 0
    out = capsys.readouterr().out
    before = re.search(r"one case a commit \(before\) +\d+ us a timer +ratio +1\.00 +"
                       r"(\d\.\d\d) commits", out)
    now = re.search(r"batches of \d+ \(now\) +\d+ us a timer +ratio +\d+\.\d\d +"
                    r"(\d\.\d\d) commits, +\d+\.\d statements a timer +\(commit floor", out)
    assert before is not None and now is not None, out
    assert float(before.group(1)) >= 1.0
    assert float(now.group(1)) <= 0.5  # 6 timers in one batch: one commit
