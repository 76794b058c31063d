"""engine.outcomes on fakes: parsing outcome files, the measures' windows, cohorts, imports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.errors import ConflictError, InvalidArgumentError
from engine.model import (
    CaseRecord,
    Client,
    ComparisonEvent,
    ComparisonSubject,
    NewEvent,
    OutcomeEvent,
)
from engine.outcomes import (
    Cohort,
    OutcomeMeasure,
    Outcomes,
    RowError,
    add_months,
    measure,
    measure_group,
    outcome_directions,
    parse_matched_group_csv,
    parse_outcome_csv,
)
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

RECONVICTION = OutcomeMeasure("reconviction", "frequency")
BINARY = OutcomeMeasure("reconviction", "binary")
RELEASE = date(2024, 1, 15)


def _event(client_id: int, occurred: date, recorded: date | None = None,
           kind: str = "reconviction") -> OutcomeEvent:
    return OutcomeEvent(id=None, client_id=client_id, kind=kind, occurred_on=occurred,
                        recorded_on=recorded or occurred, source="test")


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- parsing -------------------------------------------------------------------------------


def test_a_good_reconviction_file_parses_to_rows() -> None:
    parsed = parse_outcome_csv(_csv("client,offence_date,conviction_date",
                                    "1,2024-02-01,2024-03-01",
                                    "",
                                    "2,2024-02-03,2024-02-03"), "reconviction", {1, 2})
    assert parsed.ok and parsed.data_rows == 2
    assert [(r.line, r.client_id, r.kind, r.occurred_on, r.recorded_on) for r in parsed.rows] == [
        (2, 1, "reconviction", date(2024, 2, 1), date(2024, 3, 1)),
        (4, 2, "reconviction", date(2024, 2, 3), date(2024, 2, 3))]


def test_header_is_case_insensitive_with_extra_columns_and_a_bom() -> None:
    data = "\ufeffNote,Client,Offence_Date,Conviction_Date\nx,1,2024-02-01,2024-03-01\n"
    parsed = parse_outcome_csv(data.encode("utf-8"), "reconviction", {1})
    assert parsed.ok and len(parsed.rows) == 1


def test_every_bad_row_is_reported_and_nothing_is_kept() -> None:
    parsed = parse_outcome_csv(_csv(
        "client,offence_date,conviction_date",
        "1,2024-02-01,2024-03-01",
        "1,01/02/2024,2024-03-01",       # not ISO
        "1,2024-02-30,2024-03-01",       # no such day
        "9,2024-02-01,2024-03-01",       # unknown client
        "abc,2024-02-01,2024-03-01",     # not an id
        "2,2024-05-01,2024-04-01",       # conviction before offence
        "1,2024-02-01,2024-03-01",       # duplicates line 2
        "2,,2024-03-01",                 # missing date
        "2,2024-02-01"), "reconviction", {1, 2})
    assert parsed.rows == []
    assert [(e.line, e.column) for e in parsed.errors] == [
        (3, "offence_date"), (4, "offence_date"), (5, "client"), (6, "client"),
        (7, "conviction_date"), (8, None), (9, "offence_date"), (10, None)]
    messages = [e.message for e in parsed.errors]
    assert "'01/02/2024' is not a date: expected YYYY-MM-DD" in messages[0]
    assert messages[2] == "no client 9"
    assert messages[4] == "conviction 2024-04-01 is before the offence 2024-05-01"
    assert messages[5].startswith("duplicates line 2")
    assert messages[6] == "is required"


def test_bytes_that_are_not_utf8_are_located() -> None:
    data = b"client,offence_date,conviction_date\n1,2024-02-01,2024-03-01\n" + \
        "2,2024-02-01,2024-03-01,Zoë\n".encode("latin-1")
    parsed = parse_outcome_csv(data, "reconviction", {1, 2})
    assert parsed.rows == []
    offset = data.index(b"\xeb")
    assert parsed.errors == [RowError(3, None, (
        f"not UTF-8: byte 0xEB at byte offset {offset} (save the file as UTF-8)"))]
    in_a_column = parse_outcome_csv(
        b"client,offence_date,conviction_date\n1,2024-02-01\xa0,2024-03-01\n",
        "reconviction", {1})
    assert [(e.line, e.column) for e in in_a_column.errors] == [(2, "offence_date")]


def test_missing_columns_and_empty_files() -> None:
    parsed = parse_outcome_csv(_csv("client,offence", "1,2024-01-01"), "reconviction", {1})
    assert [(e.line, e.column) for e in parsed.errors] == [(1, "offence_date"),
                                                           (1, "conviction_date")]
    assert "client,offence_date,conviction_date" in parsed.errors[0].message
    assert parse_outcome_csv(b"", "reconviction", {1}).errors[0].message.startswith(
        "empty file")
    assert parse_outcome_csv(_csv("client,offence_date,conviction_date"), "reconviction",
                             {1}).errors[0].message == "no data rows after the header"
    with pytest.raises(InvalidArgumentError):
        parse_outcome_csv(b"", "employment", {1})


def test_other_outcomes_name_their_outcome_and_value() -> None:
    parsed = parse_outcome_csv(_csv("client,outcome,date,value",
                                    "1,employment_sustained,2024-06-01,26",
                                    "1,housing_secured,2024-06-01,",
                                    "2,Housing,2024-06-01,x"), "other", {1, 2})
    assert [(e.line, e.column) for e in parsed.errors] == [(4, "outcome")]
    parsed = parse_outcome_csv(_csv("client,outcome,date,value",
                                    "1,employment_sustained,2024-06-01,26",
                                    "1,housing_secured,2024-06-01,settled"), "other", {1})
    assert [(r.kind, r.occurred_on, r.recorded_on, r.detail["value"]) for r in parsed.rows] == [
        ("employment_sustained", date(2024, 6, 1), date(2024, 6, 1), 26),
        ("housing_secured", date(2024, 6, 1), date(2024, 6, 1), "settled")]


# -- windows and measures ------------------------------------------------------------------


def test_add_months_clips_to_the_end_of_shorter_months() -> None:
    assert add_months(date(2024, 1, 15), 12) == date(2025, 1, 15)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2024, 8, 31), 18) == date(2026, 2, 28)


@pytest.mark.parametrize(("offence", "counts"), [
    (date(2024, 1, 14), False),  # before release
    (date(2024, 1, 15), True),   # on the day of release
    (date(2025, 1, 14), True),   # the last day of the 12 months
    (date(2025, 1, 15), False),  # 12 months after release: out
])
def test_offence_window_is_12_months_from_release(offence: date, counts: bool) -> None:
    result = measure({1: RELEASE}, [_event(1, offence, date(2025, 2, 1))], RECONVICTION)
    assert result.events == (1 if counts else 0)


@pytest.mark.parametrize(("conviction", "counts"), [
    (date(2025, 7, 14), True),   # the last day of 12 + 6 months
    (date(2025, 7, 15), False),  # 18 months after release: out
])
def test_conviction_window_is_18_months_from_release(conviction: date, counts: bool) -> None:
    result = measure({1: RELEASE}, [_event(1, date(2024, 12, 1), conviction)], RECONVICTION)
    assert result.events == (1 if counts else 0)


def test_frequency_counts_court_appearances_per_100_and_binary_counts_people() -> None:
    members = {1: RELEASE, 2: RELEASE, 3: date(2024, 3, 1), 4: RELEASE}
    events = [
        _event(1, date(2024, 2, 1), date(2024, 3, 1)),
        _event(1, date(2024, 2, 2), date(2024, 3, 1)),   # same court appearance
        _event(1, date(2024, 5, 1), date(2024, 6, 1)),
        _event(2, date(2024, 2, 1), date(2024, 4, 1)),
        _event(3, date(2024, 2, 1), date(2024, 4, 1)),   # before client 3's release
        _event(4, date(2024, 2, 1), kind="employment"),  # another outcome
        _event(9, date(2024, 2, 1)),                     # not in the cohort
    ]
    frequency = measure(members, events, RECONVICTION)
    assert (frequency.people, frequency.events, frequency.people_with_events) == (4, 3, 2)
    assert frequency.per_100 == 75.0 and frequency.value == 75.0
    binary = measure(members, events, BINARY)
    assert binary.binary_rate == 50.0 and binary.value == 50.0
    empty = measure({}, events, BINARY)
    assert empty.value is None and empty.people == 0


def test_measures_are_configured_as_data() -> None:
    configured = OutcomeMeasure.from_config({"kind": "employment_sustained", "type": "binary",
                                             "window_months": 6,
                                             "recorded_within_months": None})
    assert configured.counts(RELEASE, date(2024, 7, 14), date(2030, 1, 1))
    assert not configured.counts(RELEASE, date(2024, 7, 15), date(2024, 7, 15))
    assert OutcomeMeasure.from_config({"kind": "reconviction", "type": "frequency"}) == \
        RECONVICTION
    for bad in ({"kind": "reconviction"}, {"kind": "reconviction", "type": "average"},
                {"kind": "reconviction", "type": "binary", "window_months": 0},
                {"kind": "reconviction", "type": "binary", "recorded_within_months": 6},
                {"kind": "reconviction", "type": "binary", "window_from": "birth"},
                {"kind": "reconviction", "type": "binary", "colour": "red"}):
        with pytest.raises(InvalidArgumentError):
            OutcomeMeasure.from_config(bad)


def test_a_measure_says_which_way_is_better() -> None:
    """Reconvictions are bad news: the measure's configuration says lower is better, so
    exports (INDIGO's number_with_positive_social_outcomes) do not count them as good."""
    lower = OutcomeMeasure.from_config({"kind": "reconviction", "type": "binary",
                                        "direction": "lower_is_better"})
    assert lower.direction == "lower_is_better"
    assert OutcomeMeasure.from_config({"kind": "housed", "type": "binary"}).direction == \
        "higher_is_better"
    with pytest.raises(InvalidArgumentError):
        OutcomeMeasure.from_config({"kind": "reconviction", "type": "binary",
                                    "direction": "down"})


def test_a_measure_names_the_step_outcomes_it_gives_its_direction() -> None:
    """A pathway step records `reconvicted`, while the measure counts `reconviction`: the
    measure names the step outcomes that report it, so exports reading the event log (INDIGO)
    count them the measure's way. An outcome no measure names is not in the map (higher is
    better, the default)."""
    lower = OutcomeMeasure.from_config({"kind": "reconviction", "type": "binary",
                                        "direction": "lower_is_better",
                                        "step_outcomes": ["reconvicted"]})
    assert lower.step_outcomes == ("reconvicted",)
    housed = OutcomeMeasure.from_config({"kind": "housed", "type": "binary"})
    assert housed.step_outcomes == ()
    assert outcome_directions([lower, housed]) == {
        "reconviction": "lower_is_better", "reconvicted": "lower_is_better",
        "housed": "higher_is_better"}
    for bad in ("Reconvicted", ["re convicted"], [1]):
        with pytest.raises(InvalidArgumentError, match="step_outcomes"):
            OutcomeMeasure.from_config({"kind": "reconviction", "type": "binary",
                                        "step_outcomes": bad})
    # two measures may not disagree on an outcome's direction
    other = OutcomeMeasure.from_config({"kind": "reoffended", "type": "binary",
                                        "step_outcomes": ["reconvicted"]})
    with pytest.raises(InvalidArgumentError, match="reconvicted"):
        outcome_directions([lower, other])


def test_cohorts_select_clients_by_a_date_range() -> None:
    clients = [Client(1, "a", {"release_date": "2024-01-01"}),
               Client(2, "b", {"release_date": "2024-06-30"}),
               Client(3, "c", {"release_date": "2024-07-01"}),
               Client(4, "d", {"release_date": "soon"}),
               Client(5, "e", {"enrolment_date": "2024-02-01"})]
    cohort = Cohort("cohort 1", start=date(2024, 1, 1), end=date(2024, 6, 30))
    assert cohort.members(clients) == {1: date(2024, 1, 1), 2: date(2024, 6, 30)}
    enrolled = Cohort("enrolled", date(2024, 1, 1), date(2024, 12, 31), field="enrolment_date")
    assert enrolled.members(clients) == {5: date(2024, 2, 1)}
    with pytest.raises(InvalidArgumentError):
        Cohort("backwards", start=date(2024, 2, 1), end=date(2024, 1, 1))


def test_matched_groups_parse_and_measure() -> None:
    parsed = parse_matched_group_csv(_csv(
        "subject,release_date,offence_date,conviction_date",
        "c1,2024-01-15,2024-02-01,2024-03-01",
        "c1,2024-01-15,2024-05-01,2024-06-01",
        "c2,2024-01-15,,",
        "c3,2024-01-15,2025-02-01,2025-03-01"), "pnc")
    assert parsed.ok
    assert [(s.subject, len(s.events)) for s in parsed.subjects] == [("c1", 2), ("c2", 0),
                                                                     ("c3", 1)]
    result = measure_group(parsed.subjects, RECONVICTION)
    assert (result.people, result.events, result.per_100) == (3, 2, pytest.approx(66.6667))
    bad = parse_matched_group_csv(_csv(
        "subject,release_date,offence_date,conviction_date",
        "c1,2024-01-15,2024-02-01,2024-03-01",
        "c1,2024-01-16,,",
        "c2,2024-01-15,2024-02-01,"), "pnc")
    assert [(e.line, e.column) for e in bad.errors] == [(3, "release_date"),
                                                        (4, "conviction_date")]


# -- the service ---------------------------------------------------------------------------


def _service() -> tuple[Outcomes, FakeUnitOfWorkFactory, list[int]]:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        ids = [uow.clients.add(Client(None, name, {"release_date": "2024-01-15"})).id
               for name in ("a", "b", "c")]
        uow.commit()
    return Outcomes(factory, FakeClock()), factory, [i for i in ids if i is not None]


def test_import_is_idempotent_and_reports_duplicates() -> None:
    outcomes, _, (a, b, _) = _service()
    data = _csv("client,offence_date,conviction_date", f"{a},2024-02-01,2024-03-01",
                f"{b},2024-03-01,2024-04-01")
    seen: list[tuple[int, int]] = []
    first = outcomes.import_csv("q1.csv", data, "reconviction", actor="amy",
                                progress=lambda done, total: seen.append((done, total)))
    assert (first.imported, first.duplicates, first.errors, first.already_imported) == (
        2, [], [], False)
    assert seen == [(1, 2), (2, 2)]
    again = outcomes.import_csv("q1-copy.csv", data, "reconviction")
    assert again.already_imported and again.imported == 0
    overlapping = outcomes.import_csv("q2.csv", data + _csv(f"{a},2024-05-01,2024-06-01"),
                                      "reconviction")
    assert (overlapping.imported, overlapping.duplicates) == (1, [2, 3])
    assert len(outcomes.events(kind="reconviction")) == 3
    assert [(i.filename, i.rows, i.imported, i.actor) for i in outcomes.imports()] == [
        ("q1.csv", 2, 2, "amy"), ("q2.csv", 3, 1, None)]
    event = outcomes.events(client_id=a)[0]
    assert event.source == f"import:{first.sha256}" and event.detail == {"line": 2}


def test_a_rejected_import_stores_nothing() -> None:
    outcomes, factory, (a, _, _) = _service()
    commits = factory.store.commits
    report = outcomes.import_csv("bad.csv", _csv("client,offence_date,conviction_date",
                                                 f"{a},2024-02-01,2024-03-01",
                                                 "999,2024-02-01,2024-03-01"), "reconviction")
    assert report.rejected and report.imported == 0
    assert report.errors == [RowError(3, "client", "no client 999")]
    assert factory.store.commits == commits
    assert outcomes.events() == [] and outcomes.imports() == []


def test_events_include_outcomes_recorded_by_pathway_steps() -> None:
    outcomes, factory, (a, _, _) = _service()
    at = datetime(2024, 3, 2, 10, tzinfo=UTC)
    with factory() as uow:
        case = uow.cases.add(CaseRecord(None, "family_support", 1, a, "active", {}))
        uow.events.append(case.id, [
            NewEvent("outcome_recorded", at, "engaged", data={"outcome": "family_engaged",
                                                              "value": True}),
            NewEvent("outcome_recorded", at, "housed", data={"outcome": "housed",
                                                             "value": False}),
        ])
        uow.commit()
    found = outcomes.events(client_id=a)
    assert [(e.kind, e.occurred_on, e.source) for e in found] == [
        ("family_engaged", date(2024, 3, 2), f"case:{case.id}")]
    assert outcomes.events(client_id=a, include_cases=False) == []


def test_measure_a_cohort_from_each_members_release() -> None:
    outcomes, factory, (a, b, c) = _service()
    with factory() as uow:
        uow.clients.update_fields(c, {"release_date": None})
        uow.commit()
    outcomes.import_csv("r.csv", _csv("client,offence_date,conviction_date",
                                      f"{a},2024-02-01,2024-03-01",
                                      f"{b},2025-02-01,2025-03-01"), "reconviction")
    cohort = Cohort("cohort 1", date(2024, 1, 1), date(2024, 12, 31))
    assert outcomes.cohort_members(cohort) == {a: RELEASE, b: RELEASE}
    result = outcomes.measure_cohort(cohort, RECONVICTION).result
    assert (result.people, result.events, result.per_100) == (2, 1, 50.0)


def test_comparison_rates_and_matched_groups() -> None:
    outcomes, _, _ = _service()
    outcomes.set_comparison_rates("cohort 1", "reconviction", group_size=1000, per_100=160.0)
    latest = outcomes.set_comparison_rates("cohort 1", "reconviction", group_size=1000,
                                           per_100=155.0, binary_rate=58.0, source="MoJ",
                                           actor="amy")
    assert outcomes.comparison_rates() == [latest]
    with pytest.raises(InvalidArgumentError):
        outcomes.set_comparison_rates("cohort 1", "reconviction", group_size=0)
    with pytest.raises(InvalidArgumentError):
        outcomes.set_comparison_rates("cohort 1", "reconviction", group_size=10,
                                      binary_rate=101)
    subjects = [ComparisonSubject("pnc", "s1", "reconviction", RELEASE,
                                  (ComparisonEvent(date(2024, 2, 1), date(2024, 3, 1)),)),
                ComparisonSubject("pnc", "s2", "reconviction", RELEASE)]
    report = outcomes.import_matched_group("pnc", subjects)
    assert (report.subjects, report.events, report.already_imported) == (2, 1, False)
    assert outcomes.import_matched_group("pnc", subjects).already_imported
    with pytest.raises(ConflictError):
        outcomes.import_matched_group("pnc", subjects[:1])
    assert outcomes.measure_matched_group("pnc", RECONVICTION).per_100 == 50.0
