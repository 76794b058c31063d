"""Each client's value of a frequency measure as the dashboard splits by it
(engine.outcomes.values_per_person), checked by hand and, on random people and events,
against the cohort results' own count (measure_occurrences) of each person alone."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from engine.outcomes import OutcomeMeasure, measure_occurrences, values_per_person
from engine.outcomes.outcome_measures import iso_date

RECONVICTION = OutcomeMeasure("reconviction", "frequency")  # 12 months, recorded within 18


def test_values_by_hand() -> None:
    occurrences = [
        (1, date(2024, 2, 1), date(2024, 3, 1)),
        (1, date(2024, 2, 2), date(2024, 3, 1)),  # the same court day: one event
        (1, date(2024, 5, 1), date(2024, 6, 1)),
        (1, date(2023, 5, 1), date(2023, 6, 1)),  # before the start
        (2, date(2025, 2, 1), date(2025, 3, 1)),  # after 12 months
        (9, date(2024, 2, 1), date(2024, 3, 1)),  # nobody asked for client 9
    ]
    people = [(1, "2024-01-15"), (1, "2024-05-01"), (2, "2024-01-15"), (3, "2024-01-15"),
              (0, "2024-01-15"), (0, None), (1, "2024-02-30"), (1, "15/01/2024"), (2, None)]
    assert values_per_person(people, occurrences, RECONVICTION) == {
        (1, "2024-01-15"): 2, (1, "2024-05-01"): 1, (2, "2024-01-15"): 0,
        (3, "2024-01-15"): 0, (0, "2024-01-15"): 0, (0, None): None,
        (1, "2024-02-30"): None, (1, "15/01/2024"): None, (2, None): None}


_DAY = st.dates(min_value=date(2020, 1, 1), max_value=date(2023, 12, 31))
_TEXT = st.one_of(st.none(), st.sampled_from(["", "2021-02-30", "01/02/2021", " 2021-03-31 "]),
                  _DAY.map(date.isoformat))


@given(people=st.lists(st.tuples(st.integers(0, 6), _TEXT), max_size=30),
       occurrences=st.lists(st.tuples(st.integers(0, 8), _DAY, st.integers(0, 400)),
                            max_size=40),
       months=st.integers(1, 24), recorded_within=st.none() | st.integers(0, 12))
def test_each_value_is_what_the_cohort_count_gives_that_person_alone(
        people: list[tuple[int, str | None]], occurrences: list[tuple[int, date, int]],
        months: int, recorded_within: int | None) -> None:
    measure = OutcomeMeasure("reconviction", "frequency", window_months=months,
                             recorded_within_months=None if recorded_within is None
                             else months + recorded_within)
    events = [(client, occurred, occurred + timedelta(days=lag))
              for client, occurred, lag in occurrences]
    found = values_per_person(people, events, measure)
    assert set(found) == set(people)
    for client, text in people:
        start = iso_date(text.strip()) if text is not None else None
        if start is None:
            assert found[client, text] is None
            continue
        alone = measure_occurrences({client: start}, [
            event for event in events if client and event[0] == client], measure)
        assert found[client, text] == alone.events
