"""Activity month on month (engine/outcomes/activity.py) on synthetic cases and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from engine.outcomes.activity import activity_by_month
from tests.unit.engine.test_analysis import Log


def test_activity_month_on_month() -> None:
    log = Log()
    c = log.case(1)
    jan, mar = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 3, 31, 23, tzinfo=UTC)
    for _ in range(4):
        log.task(c, "session", jan, jan, actor="amy")
    log.task(c, "session", jan, jan, actor="bob")
    for _ in range(2):
        log.task(c, "session", mar, mar, actor="amy")
    log.task(c, "session", mar, mar, actor="zed")  # not in the map
    log.add(c, "task_completed", mar, "session", None, {"task": "x"})  # no user
    orgs = {"amy": "st_giles_trust", "bob": "st_giles_trust"}

    result = activity_by_month(log.events, orgs)
    assert result.months == ("2026-01", "2026-02", "2026-03")
    amy = [(a.month, a.tasks, a.previous, a.change, a.change_pct)
           for a in result.caseworkers if a.name == "amy"]
    assert amy == [("2026-01", 4, None, None, None), ("2026-02", 0, 4, -4, -100.0),
                   ("2026-03", 2, 0, 2, None)]
    giles = {a.month: a.tasks for a in result.organisations if a.name == "st_giles_trust"}
    assert giles == {"2026-01": 5, "2026-02": 0, "2026-03": 2}
    unknown = {a.month: a.tasks for a in result.organisations if a.name == "(unknown)"}
    assert unknown["2026-03"] == 2
    assert {a.name for a in result.caseworkers} == {"amy", "bob", "zed", "(no user)"}
    assert next(a for a in result.caseworkers if a.name == "zed").organisation == "(unknown)"
    assert len(result.rows()) == 3 * (2 + 4)
    assert activity_by_month([], orgs).months == ()


def test_month_boundaries_are_utc() -> None:
    log = Log()
    c = log.case(1)
    late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    local = late.astimezone(timezone(timedelta(hours=2)))  # 1 February, 01:30 local
    log.add(c, "task_completed", local, "s", "amy", {"task": "t"})
    result = activity_by_month(log.events, {})
    assert result.months == ("2026-01",)
