"""Issue 12, item 1: a cohort's result and payment exist only when every member's outcome
windows have closed by the data's extraction date (a fact of the import, never the wall
clock); before that the status says how many windows are open and when it will be complete."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import InvalidArgumentError
from engine.model import Client, ComparisonSubject
from engine.outcomes import OutcomeMeasure, Outcomes, RowError, parse_outcome_csv
from engine.outcomes.followup import follow_up, group_follow_up, window_close
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

PETERBOROUGH = OutcomeMeasure("reconviction", "frequency")  # 12 months, convicted within 18
CLOSED_AT_12 = OutcomeMeasure("reconviction", "frequency", recorded_within_months=None)


def test_windows_close_the_first_day_nothing_counts() -> None:
    assert window_close(date(2024, 1, 15), PETERBOROUGH) == date(2025, 7, 15)
    assert window_close(date(2024, 1, 15), CLOSED_AT_12) == date(2025, 1, 15)
    assert window_close(date(2023, 8, 31), PETERBOROUGH) == date(2025, 2, 28)


def test_released_in_the_last_60_days_is_interim_with_every_window_open() -> None:
    """The demo's case: 41 people released in the last 60 days, data extracted today."""
    today = date(2026, 12, 3)
    starts = [date(2026, 10, 4 + n % 28) for n in range(41)]
    status = follow_up(starts, PETERBOROUGH, today, None)
    assert not status.complete and status.open_windows == 41 and status.members == 41
    words = status.words()
    assert words.startswith("interim: 41 of 41 windows still open — no payment can be "
                            "computed")
    assert "no end in the programme file" in words


def test_one_day_before_the_last_window_closes_is_interim_with_the_date() -> None:
    starts = [date(2010, 10, 1), date(2011, 3, 1), date(2012, 6, 30)]
    end = date(2012, 6, 30)
    before = follow_up(starts, PETERBOROUGH, date(2013, 12, 29), end)
    assert not before.complete and before.open_windows == 1
    assert before.complete_on == date(2013, 12, 30)
    assert before.words() == (
        "interim: 1 of 3 windows still open on 2013-12-29 (the data's extraction date) — no "
        "payment can be computed; complete with data extracted on or after 2013-12-30")
    on_the_day = follow_up(starts, PETERBOROUGH, date(2013, 12, 30), end)
    assert on_the_day.complete and on_the_day.open_windows == 0
    assert on_the_day.words().startswith("complete: every member's windows closed by "
                                         "2013-12-30")


def test_an_unknown_extraction_date_closes_no_window() -> None:
    status = follow_up([date(2010, 10, 1)], PETERBOROUGH, None, date(2012, 6, 30))
    assert not status.complete and status.open_windows == 1
    assert "extraction date is unknown" in status.words()
    assert "--extracted-on" in status.words()


def test_the_release_period_must_have_ended_by_the_extraction_date() -> None:
    """Every member known so far is followed up, but more may still be released."""
    status = follow_up([date(2010, 10, 1)], PETERBOROUGH, date(2013, 1, 1), date(2013, 6, 30))
    assert status.open_windows == 0 and not status.complete
    assert status.complete_on == date(2013, 7, 1)  # the day after the last release
    assert "on or after 2013-07-01 at the earliest (releases run to 2013-06-30" \
        in status.words()


def test_a_suppressed_count_is_not_said() -> None:
    status = follow_up([date(2012, 6, 30)] * 3, PETERBOROUGH, date(2013, 1, 1),
                       date(2012, 6, 30))
    words = status.words(open_shown="suppressed", members_shown="suppressed")
    assert "3 of" not in words and "of suppressed" in words


def test_a_matched_group_is_complete_when_its_latest_release_is_followed_up() -> None:
    starts = [date(2011, 1, 1), date(2011, 6, 1)]
    assert not group_follow_up(starts, PETERBOROUGH, date(2012, 11, 30)).complete
    assert group_follow_up(starts, PETERBOROUGH, date(2012, 12, 1)).complete
    assert not group_follow_up(starts, PETERBOROUGH, None).complete
    assert not group_follow_up([], PETERBOROUGH, date(2020, 1, 1)).complete


def test_a_complete_cohort_with_nobody_in_it_says_so() -> None:
    status = follow_up([], PETERBOROUGH, date(2026, 12, 3), date(2012, 6, 30))
    assert status.complete and status.words().startswith("complete, with nobody in it")


# -- the extraction date of an import -----------------------------------------------------


def _service() -> tuple[Outcomes, list[int]]:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        ids = [uow.clients.add(Client(None, name, {"release_date": "2024-01-15"})).id
               for name in ("a", "b")]
        uow.commit()
    return Outcomes(factory, FakeClock()), [i for i in ids if i is not None]  # 2026-01-05


def test_an_event_recorded_after_the_extraction_date_is_a_located_error() -> None:
    data = (b"client,offence_date,conviction_date\n1,2024-02-01,2024-03-01\n"
            b"1,2024-04-01,2024-06-02\n")
    parsed = parse_outcome_csv(data, "reconviction", None, extracted_on=date(2024, 6, 1))
    assert parsed.errors == [RowError(3, "conviction_date", (
        "2024-06-02 is after the data's extraction date 2024-06-01: an extract cannot hold "
        "an event recorded after it was taken"))]
    assert parse_outcome_csv(data, "reconviction", None, extracted_on=date(2024, 6, 2)).ok
    other = parse_outcome_csv(b"client,outcome,date,value\n1,housed,2024-06-02,\n", "other",
                              None, extracted_on=date(2024, 6, 1))
    assert [(e.line, e.column) for e in other.errors] == [(2, "date")]


def test_imports_keep_their_extraction_date_and_the_latest_covers_the_kind() -> None:
    outcomes, (a, b) = _service()
    assert outcomes.extraction_date("reconviction") is None  # nothing imported: unknown
    header = "client,offence_date,conviction_date\n"
    first = outcomes.import_csv("q1.csv", f"{header}{a},2024-02-01,2024-03-01\n".encode(),
                                "reconviction", extracted_on=date(2024, 12, 31))
    assert first.extracted_on == date(2024, 12, 31) and first.imported == 1
    undated = outcomes.import_csv("q0.csv", f"{header}{b},2024-02-01,2024-03-01\n".encode(),
                                  "reconviction")
    assert undated.extracted_on is None
    assert outcomes.extraction_date("reconviction") == date(2024, 12, 31)
    outcomes.import_csv("q2.csv", f"{header}{b},2024-05-01,2024-06-01\n".encode(),
                        "reconviction", extracted_on=date(2025, 7, 15))
    assert outcomes.extraction_date("reconviction") == date(2025, 7, 15)
    assert [i.extracted_on for i in outcomes.imports()] == [
        date(2024, 12, 31), None, date(2025, 7, 15)]
    assert outcomes.extraction_date("housed") is None  # no import of that outcome
    outcomes.import_csv("h.csv", f"client,outcome,date,value\n{a},housed,2024-04-01,\n"
                        .encode(), "other", extracted_on=date(2024, 5, 1))
    assert outcomes.extraction_date("housed") == date(2024, 5, 1)
    assert outcomes.extraction_date("reconviction") == date(2025, 7, 15)


def test_an_extraction_date_after_the_import_day_is_refused() -> None:
    outcomes, (a, _) = _service()
    data = f"client,offence_date,conviction_date\n{a},2024-02-01,2024-03-01\n".encode()
    with pytest.raises(InvalidArgumentError) as refused:
        outcomes.import_csv("q.csv", data, "reconviction", extracted_on=date(2026, 1, 6))
    assert "extracted_on" in refused.value.details["fields"]
    assert outcomes.imports() == []
    assert outcomes.import_csv("q.csv", data, "reconviction",
                               extracted_on=date(2026, 1, 5)).imported == 1


def test_a_matched_group_keeps_its_extraction_date_and_checks_its_events() -> None:
    outcomes, _ = _service()
    group = (b"subject,release_date,offence_date,conviction_date\n"
             b"s1,2011-01-01,2011-02-01,2011-03-01\ns2,2011-01-01,,\n")
    late = outcomes.import_matched_group("cohort 1", group, extracted_on=date(2011, 2, 28))
    assert [(e.line, e.column) for e in late.errors] == [(2, "conviction_date")]
    assert outcomes.matched_group("cohort 1") == []
    report = outcomes.import_matched_group("cohort 1", group, extracted_on=date(2012, 12, 1))
    assert report.errors == [] and report.extracted_on == date(2012, 12, 1)
    assert {s.extracted_on for s in outcomes.matched_group("cohort 1")} == {date(2012, 12, 1)}
    with pytest.raises(InvalidArgumentError):
        outcomes.import_matched_group("future", [ComparisonSubject(
            "future", "s1", "reconviction", date(2011, 1, 1))], extracted_on=date(2027, 1, 1))


def test_a_file_imported_without_its_date_takes_it_when_imported_again() -> None:
    """A file (or matched group) imported before extraction dates were kept cannot be
    imported afresh (same bytes, same members): imported again with --extracted-on, it takes
    the date, checked against its events; a date held already is kept."""
    outcomes, (a, _) = _service()
    data = f"client,offence_date,conviction_date\n{a},2024-02-01,2024-03-01\n".encode()
    outcomes.import_csv("q.csv", data, "reconviction")
    late = outcomes.import_csv("q.csv", data, "reconviction", extracted_on=date(2024, 2, 29))
    assert [(e.line, e.column) for e in late.errors] == [(2, "conviction_date")]
    assert outcomes.extraction_date("reconviction") is None
    dated = outcomes.import_csv("q.csv", data, "reconviction", extracted_on=date(2024, 3, 1))
    assert dated.already_imported and dated.extracted_on == date(2024, 3, 1)
    assert outcomes.extraction_date("reconviction") == date(2024, 3, 1)
    kept = outcomes.import_csv("q.csv", data, "reconviction", extracted_on=date(2024, 6, 1))
    assert kept.already_imported and kept.extracted_on == date(2024, 3, 1)
    group = (b"subject,release_date,offence_date,conviction_date\n"
             b"s1,2011-01-01,2011-02-01,2011-03-01\n")
    outcomes.import_matched_group("pnc", group)
    again = outcomes.import_matched_group("pnc", group, extracted_on=date(2012, 12, 1))
    assert again.already_imported and again.extracted_on == date(2012, 12, 1)
    assert {s.extracted_on for s in outcomes.matched_group("pnc")} == {date(2012, 12, 1)}
