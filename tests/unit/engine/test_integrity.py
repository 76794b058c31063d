"""engine.integrity: the canonical hash of an event and the checking of a case's chain, on
values alone (the storage tests run the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine import integrity
from engine.integrity import (
    GENESIS,
    HeadHasher,
    StoredEvent,
    canonical_json,
    check_chains,
    event_hash,
)

AT = datetime(2027, 1, 2, 9, 30, 0, 500, tzinfo=UTC)


def _chain(case_id: int, count: int, first_id: int = 1) -> list[StoredEvent]:
    """count events of case_id, correctly chained."""
    made: list[StoredEvent] = []
    previous = GENESIS
    for seq in range(1, count + 1):
        event = StoredEvent(first_id + seq - 1, case_id, seq, "note", AT + timedelta(seconds=seq),
                            f"step{seq}", "amy", {"n": seq, "b": [1.5, None]}, None)
        previous = event.expected_hash(previous)
        made.append(replace(event, hash=previous))
    return made


def _rows(*chains: list[StoredEvent], recorded: dict[int, int] | None = None
          ) -> list[tuple[int, int, StoredEvent | None]]:
    return [(e.case_id, (recorded or {}).get(e.case_id, len(events)), e)
            for events in chains for e in events]


def test_canonical_json_is_one_text_whatever_the_database_gives_back() -> None:
    assert canonical_json({"b": 1, "a": [2.0, 1e20, 0.5, -(2**62) * 1.0]}) == \
        canonical_json({"a": [2, 100000000000000000000, 0.5, -(2**62)], "b": 1.0}) == \
        '{"a":[2,1e+20,0.5,-4611686018427387904],"b":1}'
    assert canonical_json({"t": "Zoë \u2028"}) == '{"t":"Zo\\u00eb \\u2028"}'
    assert canonical_json((1, [True, None])) == "[1,[true,null]]"
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_an_events_hash_is_pinned() -> None:
    """Stored hashes depend on this encoding: a change to it breaks every chain stored."""
    assert event_hash(1, 1, "case_started", AT, None, None, {}, GENESIS) == \
        event_hash(1, 1, "case_started", AT.astimezone(timezone(timedelta(hours=2))), None,
                   None, {}, GENESIS)
    text = ('["pathways-event-1",7,3,"task_completed","2027-01-02T09:30:00.000500Z","meet",'
            '"amy",{"a":"x","b":[1,2.5]},"' + "ab" * 32 + '"]')
    pinned = "d325448bc4477d3d32cb5fa19bc1a1ffa81ad327adc3f44639a366dacae82565"
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == pinned
    assert event_hash(7, 3, "task_completed", AT, "meet", "amy", {"b": [1, 2.5], "a": "x"},
                      "ab" * 32) == pinned


def test_every_field_is_in_the_hash() -> None:
    base = (7, 3, "task_completed", AT, "meet", "amy", {"a": 1}, GENESIS)
    changed = [(8,), (7, 4), (7, 3, "x"), (7, 3, "task_completed", AT + timedelta(microseconds=1)),
               (7, 3, "task_completed", AT, None), (7, 3, "task_completed", AT, "meet", None),
               (7, 3, "task_completed", AT, "meet", "amy", {"a": 2}),
               (7, 3, "task_completed", AT, "meet", "amy", {"a": 1}, "1" * 64)]
    hashes = {event_hash(*(c + base[len(c):])) for c in changed}  # type: ignore[arg-type]
    assert len(hashes) == len(changed) and event_hash(*base) not in hashes
    with pytest.raises(ValueError, match="naive"):
        event_hash(1, 1, "x", AT.replace(tzinfo=None), None, None, {}, GENESIS)


def test_whole_chains_verify_and_give_the_head() -> None:
    one, two = _chain(1, 4), _chain(2, 3, first_id=5)
    report = check_chains(_rows(one, two), cut_off=6, previous_head="c" * 64)
    assert report.ok and (report.cases_checked, report.events_checked) == (2, 7)
    head = HeadHasher("c" * 64, 6)
    head.add(1, 4, one[-1].hash, 4)
    head.add(2, 2, two[1].hash, 2)
    assert report.head is not None
    assert (report.head.hexdigest(), report.head.cases, report.head.events) == (
        head.hexdigest(), 2, 6)


def test_the_first_problem_of_each_case_is_named() -> None:
    one, two, three = _chain(1, 5), _chain(2, 5, first_id=6), _chain(3, 5, first_id=11)
    one[2] = replace(one[2], data={"n": 99})  # edited
    del two[1]  # deleted
    three[1], three[3] = replace(three[3], seq=2), replace(three[1], seq=4)  # swapped
    report = check_chains(_rows(one, two, three, recorded={2: 5}))
    assert [p.to_dict() | {"detail": ""} for p in report.problems] == [
        {"case": 1, "sequence": 3, "event": 3, "problem": "altered", "detail": ""},
        {"case": 2, "sequence": 2, "event": None, "problem": "missing", "detail": ""},
        {"case": 3, "sequence": 2, "event": 14, "problem": "reordered", "detail": ""}]
    assert report.problems[1].detail == \
        "event(s) 2 missing: the next stored is sequence 3 (event 8)"
    assert "where event 12 (now at sequence 4) was recorded" in report.problems[2].detail


def test_a_log_that_ends_early_is_missing_its_last_events() -> None:
    events = _chain(1, 3)
    [problem] = check_chains(_rows(events, recorded={1: 5})).problems
    assert (problem.sequence, problem.event, problem.problem) == (4, None, "missing")
    [empty] = check_chains([(9, 2, None)]).problems
    assert (empty.case, empty.sequence, empty.problem) == (9, 1, "missing")
    assert check_chains([(9, 0, None)]).ok


def test_problems_listed_are_capped_but_all_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(integrity, "MAX_LISTED", 2)
    rows = [(case_id, 1, None) for case_id in range(1, 6)]
    report = check_chains(rows)
    assert (len(report.problems), report.problems_total, report.ok) == (2, 5, False)


def test_an_event_past_the_cases_recorded_end_is_unrecorded() -> None:
    """Even with a hash chained as the engine would: the case row was not moved on."""
    events = _chain(1, 4)
    [problem] = check_chains(_rows(events, recorded={1: 3})).problems
    assert (problem.sequence, problem.event, problem.problem) == (4, 4, "unrecorded")
