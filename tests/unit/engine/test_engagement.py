"""Engagement (engine/outcomes/engagement.py) on synthetic cases and events."""

from __future__ import annotations

from datetime import timedelta

from engine.outcomes.engagement import engagement
from engine.outcomes.estimates import proportion_ci
from tests.unit.engine.test_analysis import T0, Log


def test_engagement_after_a_month() -> None:
    log = Log()
    stays = log.case(1)
    log.task(stays, "session", T0 + timedelta(days=35), T0 + timedelta(days=35))
    edge = log.case(1)  # a task exactly 30 days on counts
    log.task(edge, "session", T0 + timedelta(days=30), T0 + timedelta(days=30))
    leaves = log.case(2)
    log.task(leaves, "session", T0 + timedelta(days=3), T0 + timedelta(days=29, hours=23))
    log.case(2)  # nothing done at all
    recent = log.case(2, start=T0 + timedelta(days=50))
    log.task(recent, "session", T0 + timedelta(days=51), T0 + timedelta(days=51))

    everyone = engagement(log.cases, log.events)
    assert (everyone.overall.count, everyone.overall.n) == (2, 5)
    as_of = engagement(log.cases, log.events, 30, as_of=T0 + timedelta(days=60))
    assert (as_of.overall.count, as_of.overall.n, as_of.too_recent) == (2, 4, 1)
    assert dict(as_of.by_version) == {1: proportion_ci(2, 2), 2: proportion_ci(0, 2)}
    early = engagement(log.cases, log.events, 30, as_of=T0 + timedelta(days=32))
    assert (early.overall.count, early.overall.n) == (1, 4)  # day-35 task not yet done
    assert [r["group"] for r in as_of.rows()] == ["all", "version 1", "version 2"]
