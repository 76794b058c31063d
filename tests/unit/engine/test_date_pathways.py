"""Dates through the real engine: a wait until a form date plus a month, a due in working
days, and `today()` read from the clock the engine runs on, not the machine's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.workflow.due import compute_due
from engine.workflow.validation_rules_values import due_problem
from tests.case_steps import complete, open_steps
from tests.unit.engine.fakes import FakeClock

HOUSING = """pathway: housing
title: Housing
roles:
  worker: {title: Worker}
steps:
  - task: offer
    role: worker
    title: Offer
    form:
      move_in_date: {type: date, required: true}
  - task: panel
    role: worker
    title: Panel
    due: working_days(20)
  - wait: settle_in
    until: move_in_date + P1M
  - task: review
    role: worker
    title: Review
    due: add_working_days(move_in_date + P1M, 2)
  - decide: when_reviewed
    branches:
      - when: today() > move_in_date + P2M
        steps:
          - end: late
            reason: reviewed late
    otherwise:
      - end: in_time
        reason: reviewed in time
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # a Tuesday


def publish(engine: Engine) -> None:
    compiled = compile_pathway(load_pathway(HOUSING, "housing.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)


def due_of(engine: Engine, case_id: int, step: str) -> datetime | None:
    [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
    return view.task.due


def at_the_wait(engine: Engine, move_in: str) -> int:
    publish(engine)
    client = engine.add_client("Ann").id or 0
    case_id = engine.start_case("housing", client).case.id or 0
    complete(engine, case_id, "offer", {"move_in_date": move_in})
    complete(engine, case_id, "panel")
    return case_id


def test_the_panel_is_due_in_twenty_working_days_skipping_christmas(
        engine: Engine, clock: FakeClock) -> None:
    publish(engine)
    client = engine.add_client("Ann").id or 0
    case_id = engine.start_case("housing", client).case.id or 0
    complete(engine, case_id, "offer", {"move_in_date": "2027-01-31"})
    # 1 Dec 2026 + 20 working days: Christmas (25th) and Boxing Day (moved to 28th) skipped
    assert due_of(engine, case_id, "panel") == datetime(2026, 12, 31, tzinfo=UTC)


def test_the_wait_lasts_until_a_month_after_the_move_clamped_to_february(
        engine: Engine, clock: FakeClock) -> None:
    case_id = at_the_wait(engine, "2027-01-31")
    [timer] = [e for e in engine.events(case_id) if e.type == "timer_scheduled"]
    assert timer.data["due"] == "2027-02-28T00:00:00+00:00"  # 31 Jan + 1 month
    assert engine.fire_due_timers(datetime(2027, 2, 27, 23, 59, tzinfo=UTC)) == 0
    assert open_steps(engine, case_id) == []
    clock.current = datetime(2027, 2, 28, 9, tzinfo=UTC)
    assert engine.fire_due_timers(clock.now()) == 1
    assert open_steps(engine, case_id) == ["review"]
    # due 2 working days after 28 Feb (a Sunday): Mon 1 and Tue 2 March
    assert due_of(engine, case_id, "review") == datetime(2027, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize("reviewed_on, end", [
    (datetime(2027, 3, 31, tzinfo=UTC), "in_time"),  # today() = 31 March = move in + 2 months
    (datetime(2027, 4, 1, tzinfo=UTC), "late"),
])
def test_today_is_the_day_of_the_engines_clock(
        engine: Engine, clock: FakeClock, reviewed_on: datetime, end: str) -> None:
    case_id = at_the_wait(engine, "2027-01-31")
    clock.current = datetime(2027, 2, 28, 9, tzinfo=UTC)
    engine.fire_due_timers(clock.now())
    clock.current = reviewed_on
    complete(engine, case_id, "review")
    case = engine.get_case(case_id).case
    assert case.status == "completed"
    assert case.exit_reason == {"in_time": "reviewed in time", "late": "reviewed late"}[end]


def test_a_leap_year_february_has_29_days(engine: Engine, clock: FakeClock) -> None:
    case_id = at_the_wait(engine, "2028-01-31")
    [timer] = [e for e in engine.events(case_id) if e.type == "timer_scheduled"]
    assert timer.data["due"] == "2028-02-29T00:00:00+00:00"


@pytest.mark.parametrize("rule, problem", [
    ("working_days(20)", None),
    ("add_working_days(client.release_date, 5)", None),
    ("move_in_date + P1M", None),
    ("working_days(", "is not a due rule: does not parse"),
    ("open('x')", "is not a due rule: only these functions can be called"),
    ("move_in_date + P1X", "is not a due rule: P1X is not an ISO-8601 duration"),
])
def test_publishing_checks_a_due_written_as_an_expression(rule: str, problem: str | None
                                                           ) -> None:
    found = due_problem(rule)
    assert found is None if problem is None else problem in (found or "")


NEW_YEAR = datetime(2026, 1, 1, 9, tzinfo=UTC)  # a bank holiday, a Thursday


@pytest.mark.parametrize("rule, data, expected", [
    ("P1M", {}, datetime(2026, 2, 1, 9, tzinfo=UTC)),
    ("P1M + P1D", {}, datetime(2026, 2, 2, 9, tzinfo=UTC)),
    ("working_days(2)", {}, datetime(2026, 1, 5, tzinfo=UTC)),  # Fri 2, Mon 5
    ("move_in_date + P1M", {"move_in_date": "2026-01-31"}, datetime(2026, 2, 28, tzinfo=UTC)),
    ("add_working_days(client.release_date, -1)", {"client": {"release_date": "2026-12-29"}},
     datetime(2026, 12, 24, tzinfo=UTC)),
    ("add_working_days(move_in_date, 2)", {}, None),  # no such date on the case: no due time
    ("client.release_date + P1D", {"client": {"release_date": "9999-12-31"}}, None),
    ("client.release_date + P1M", {"client": {"release_date": "9999-12-31"}}, None),
])
def test_a_due_time_from_an_expression(rule: str, data: dict[str, object],
                                       expected: datetime | None) -> None:
    assert compute_due(rule, dict(data), NEW_YEAR) == expected
