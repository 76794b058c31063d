"""The programme as a project document of the INDIGO impact bond data standard (Government
Outcomes Lab, University of Oxford; schema `schema/project.json` of
INDIGO-Initiative/indigo-data-standard), built from what Pathways records. Pure: the caller
writes the document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event
from engine.outcomes.outcome_measures import DIRECTIONS

# INDIGO's code list for sources[].type (schema/project.json): Contract, Report, Award Notice,
# Website, News piece, Press release, Email correspondence, Evaluation report.
SOURCE_TYPE = "Report"

# The project schema's "status"-free value objects: {"value": ...}
# (definitions object_with_value_string / _number / _date of project.json).


def _value(value: Any) -> dict[str, Any]:
    return {"value": value}


def _day(at: datetime | date) -> str:
    """An INDIGO date (YYYY-MM-DD; the schema also allows YYYY and YYYY-MM)."""
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return at.isoformat()


@dataclass(frozen=True)
class ProgrammePathway:
    """What the INDIGO document says of one pathway (its latest version)."""

    pathway: str
    version: int
    title: str = ""
    owner: str | None = None  # the organisation that owns it
    organisations: tuple[str, ...] = ()  # organisations named for its roles


@dataclass
class OutcomeTally:
    """One outcome metric: the outcome events recorded for it, and the clients for whom it
    was achieved (a recorded value that is true, a number above 0 or non-empty text)."""

    outcome: str
    steps: set[str] = field(default_factory=set)
    pathways: set[str] = field(default_factory=set)
    events: int = 0
    achieved_by: set[int] = field(default_factory=set)
    # clients with a value recorded (not a failed recording): who it is known about
    recorded_for: set[int] = field(default_factory=set)


def _achieved(event: Event) -> bool:
    if event.data.get("problem"):
        return False
    value = event.data.get("value")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return bool(value)


def tally_outcomes(cases: Iterable[CaseRecord], events_by_case: Mapping[int, Sequence[Event]]
                   ) -> list[OutcomeTally]:
    """The outcome_recorded events of the cases, by outcome, sorted by outcome."""
    tallies: dict[str, OutcomeTally] = {}
    for case in cases:
        for event in events_by_case.get(case.id, ()) if case.id is not None else ():
            outcome = event.data.get("outcome") if event.type == "outcome_recorded" else None
            if not outcome:
                continue
            tally = tallies.setdefault(str(outcome), OutcomeTally(str(outcome)))
            tally.events += 1
            tally.pathways.add(case.pathway)
            if event.step:
                tally.steps.add(event.step)
            if not event.data.get("problem"):
                tally.recorded_for.add(case.client_id)
            if _achieved(event):
                tally.achieved_by.add(case.client_id)
    return [tallies[key] for key in sorted(tallies)]


def positive_outcomes(tally: OutcomeTally, direction: str) -> set[int]:
    """The clients with a positive social outcome: those who achieved it when more is better;
    when fewer is better (reconvicted), those it is recorded for who did not have it. A
    failed recording tells neither."""
    if direction == "lower_is_better":
        return tally.recorded_for - tally.achieved_by
    return set(tally.achieved_by)


def indigo_project(*, name: str, pathways: Sequence[ProgrammePathway],
                   cases: Sequence[CaseRecord], events_by_case: Mapping[int, Sequence[Event]],
                   as_of: datetime, organisation_names: Mapping[str, str] | None = None,
                   directions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The programme as an INDIGO project document (JSON-ready), field names and shapes as in
    the standard's project.json: name; stage_development (Implementation once a case
    exists); dates.start_date_of_service_provision (the first case's day);
    purpose_and_classifications.intervention (the pathways); service_and_beneficiaries
    (actual number of unique clients with a case, unit type Individual); service_provisions
    (one per pathway and organisation taking part); outcome_metrics (one per outcome kind
    recorded); results (per outcome: clients engaged, clients with the outcome achieved, over
    the period from the first case to as_of, Interim); sources (this export).

    `directions` maps an outcome to "higher_is_better" (the default) or "lower_is_better",
    as the programme's outcome measures configure it (engine.outcomes.OutcomeMeasure): the
    positive social outcomes of a lower-is-better outcome (reconvicted) are the clients it
    is recorded for who did not have it (`positive_outcomes`).

    Organisation ids are Pathways' own: INDIGO identifiers (INDIGO-ORG-...) are assigned by
    the INDIGO project and are not known here. Money (outcome payments, investment) is not
    recorded by Pathways and is left out.
    """
    directions = _checked(directions or {})
    clients = {c.client_id for c in cases}
    first = min((c.created_at for c in cases if c.created_at is not None), default=None)
    project = _heading(name, pathways, started=bool(cases), first=first)
    project["service_and_beneficiaries"] = {
        "actual_number_service_users_or_beneficiaries_total": _value(len(clients)),
        "unit_type_actual_service_users_or_beneficiaries": _value("Individual"),
    }
    provisions = _service_provisions(pathways, cases, organisation_names or {})
    if provisions:
        project["service_provisions"] = provisions
    tallies = tally_outcomes(cases, events_by_case)
    if tallies:
        period = _period(first, as_of)
        project["outcome_metrics"] = [_outcome_metric(t, directions) for t in tallies]
        project["results"] = [_result(t, period, len(clients), directions) for t in tallies]
    project["sources"] = [{
        "id": "pathways",
        "name": _value("Pathways case management records"),
        # a value of the standard's code list for a source's type: this export is a report
        # drawn from the programme's case records
        "type": _value(SOURCE_TYPE),
        "accessed_date": _value(_day(as_of)),
    }]
    return project


def _heading(name: str, pathways: Sequence[ProgrammePathway], *, started: bool,
             first: datetime | None) -> dict[str, Any]:
    """Name, stage (Implementation once a case exists), start date and the interventions."""
    project: dict[str, Any] = {"name": _value(name)}
    if started:
        project["stage_development"] = _value("Implementation")
    if first is not None:
        project["dates"] = {"start_date_of_service_provision": _value(_day(first))}
    if pathways:
        project["purpose_and_classifications"] = {"intervention": _value("; ".join(
            f"{p.title or p.pathway} ({p.pathway} v{p.version})" for p in pathways))}
    return project


def _checked(directions: Mapping[str, str]) -> dict[str, str]:
    """The directions, each one of DIRECTIONS."""
    for outcome, direction in directions.items():
        if direction not in DIRECTIONS:
            raise InvalidArgumentError(
                f"outcome {outcome!r}: direction must be one of {', '.join(DIRECTIONS)}",
                details={"fields": {"directions": [outcome]}})
    return dict(directions)


def _period(first: datetime | None, as_of: datetime) -> dict[str, Any]:
    """From the first case (when there is one) to as_of."""
    period: dict[str, Any] = {"end_date": _value(_day(as_of))}
    if first is not None:
        period = {"start_date": _value(_day(first)), **period}
    return period


def _service_provisions(pathways: Sequence[ProgrammePathway], cases: Sequence[CaseRecord],
                        names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One per pathway and organisation taking part (its owner first)."""
    provisions = []
    for p in pathways:
        started = min((c.created_at for c in cases
                       if c.pathway == p.pathway and c.created_at is not None), default=None)
        for org in dict.fromkeys([*([p.owner] if p.owner else []), *p.organisations]):
            provision: dict[str, Any] = {
                "id": f"{p.pathway}/{org}", "organisation_id": _value(org),
                "intervention": _value(p.title or p.pathway),
            }
            if started is not None:
                provision["actual_service"] = {"start_date": _value(_day(started))}
            if org in names:
                provision["notes"] = f"Organisation: {names[org]}"
            provisions.append(provision)
    return provisions


def _outcome_metric(t: OutcomeTally, directions: Mapping[str, str]) -> dict[str, Any]:
    which_way = ("Lower is better: a positive social outcome is a client it is recorded for "
                 "who did not have it." if directions.get(t.outcome) == "lower_is_better" else
                 "Higher is better: a positive social outcome is a client who had it.")
    return {
        "id": t.outcome,
        "definition": _value(
            f"Outcome '{t.outcome}' as recorded by the step(s) "
            f"{', '.join(sorted(t.steps)) or '-'} of pathway(s) "
            f"{', '.join(sorted(t.pathways))}; it happened when the recorded value is "
            f"true, a number above 0 or non-empty text. " + which_way),
        "outcome_validation_method": _value("Simple ex-post verification"),
        "data_source_for_outcome_validation": _value("Pathways case records (event log)"),
    }


def _result(t: OutcomeTally, period: dict[str, Any], engaged: int,
            directions: Mapping[str, str]) -> dict[str, Any]:
    positive = positive_outcomes(t, directions.get(t.outcome, "higher_is_better"))
    return {
        "outcome_metric_id": _value(t.outcome),
        "result_level": _value("Outcome level"),
        "result_type": _value("Interim"),
        "period": period,
        "number_engaged_in_impact_bond": _value(engaged),
        "number_with_positive_social_outcomes": _value(len(positive)),
        "notes": f"{t.events} outcome event(s) recorded; it happened to "
                 f"{len(t.achieved_by)} of the {len(t.recorded_for)} client(s) it is "
                 f"recorded for.",
    }
