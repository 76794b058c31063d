"""bench/realistic.py runs its workloads end to end (tiny sizes) and prints every figure
issue 19 asks for: the baseline, per-step times, the ratio, cache hit rates, statements and
commits per step, the commit floor in the run's durability, and the two-process run."""

from __future__ import annotations

import re

import pytest

from bench import realistic


def test_the_realistic_bench_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert realistic.main(["--population", "6", "--steps", "8", "--cache", "2",
                           "--postgres", "off", "--durability", "relaxed"]) == 0
    out = capsys.readouterr().out
    assert "relaxed durability" in out
    for pathway in ("gate_reception", "linear10"):
        assert re.search(rf"{pathway}: SpiffWorkflow alone.*written back with a commit "
                         rf"\(the baseline\) +\d+ us; the same kept in memory, no database "
                         rf"+\d+ us", out), out
        line = re.search(rf"Pathways, {pathway} .*", out)
        assert line is not None, out
        assert re.search(r"ratio +\d+\.\d\d +cache hits +\d+% +\d+\.\d statements, "
                         r"\d\.\d\d commits a step +\(commit floor +\d+ us\)",
                         line.group(0)), line.group(0)
    two = re.search(r"Pathways, two processes .*cache hits +(\d+)%", out)
    assert two is not None, out
    # 6 cases against a cache of 2: most steps must miss it, or the workload is not one
    hits = [int(rate) for rate in re.findall(r"cache hits +(\d+)%", out)]
    assert all(rate < 100 for rate in hits), out


def test_a_step_that_misses_the_cache_is_counted_as_a_miss(
        migrated_database_url: str) -> None:
    with realistic.application(migrated_database_url, 1) as app:
        realistic._prepare(app, "linear10")
        people = realistic._fill(app, "linear10", 3, seed=1)
        sample = realistic.pathways_steps(people, 6)
    assert sample.hits + sample.misses >= 6
    assert sample.misses >= 3  # three cases through a cache of one
    assert len(sample.steps) == 6 and sample.statements >= 6 * 5 and sample.commits >= 6


def test_the_baseline_reads_and_commits_its_state_in_the_same_database_every_step(
        migrated_database_url: str) -> None:
    """Naive persistence, not a dict in memory: one read and one committed UPDATE a step."""
    with realistic.application(migrated_database_url, 4) as app:
        realistic._prepare(app, "linear10")
        people = realistic._fill(app, "linear10", 3, seed=1)
        counted = realistic.Sample()
        with realistic.counting(app, counted):
            stored = realistic.naive_steps(people, 6)
        in_memory = realistic.Sample()
        with realistic.counting(app, in_memory):
            realistic.naive_steps(people, 6, stored=False)
    assert len(stored.steps) >= 1
    assert counted.commits >= 2 * len(stored.steps)  # read, then write, each committed
    assert in_memory.commits == 0  # only the first states are read, in a read-only unit
