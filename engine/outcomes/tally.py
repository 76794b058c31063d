"""Some of a pathway's cases as the statistics count them: how many, how many completed, and
their outcomes as counts of each value, not as one record per case.

The dashboard counts its cases in groups in the database (engine.summary_ports.CaseGroup: a
GROUP BY over the kept summaries, so a view reads the same few rows however many cases there
are, issue 12, item 9); the functions over plain records (the CLI, the tests' reference)
count them here from each case. engine.outcomes.analysis and engagement compute every figure
from tallies, so both ways give the same figures by construction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.dotted import dig
from engine.errors import InvalidArgumentError
from engine.model import CaseRecord
from engine.summary_ports import CaseFacts, CaseGroup

OutcomeValue = bool | int | None
Outcomes = Mapping[int, OutcomeValue]
# a known outcome as counted: (whether it is a yes/no, its value as a whole number), kept
# apart because True == 1 in Python and a yes is not a count of one
Known = tuple[bool, int]
MISSING = "(missing)"


@dataclass
class Tally:
    """Cases counted together. `known`: cases per known outcome; `missing`: cases with no
    known outcome; `records`: the cases themselves, when counted from records (what the
    per-step figures computed from events need), else empty."""

    cases: int = 0
    completed: int = 0
    missing: int = 0
    known: Counter[Known] = field(default_factory=Counter)
    records: list[CaseRecord] = field(default_factory=list)

    def add(self, status: str, outcome: OutcomeValue, cases: int = 1) -> None:
        self.cases += cases
        self.completed += cases if status == "completed" else 0
        if outcome is None:
            self.missing += cases
        else:
            self.known[known_value(outcome)] += cases

    def values(self) -> list[int]:
        """Each known outcome as a whole number, one per case (True: 1), in value order."""
        found: list[int] = []
        for (_, value), cases in sorted(self.known.items(), key=lambda item: item[0][1]):
            found.extend([value] * cases)
        return found


def known_value(outcome: Any) -> Known:
    """An outcome as counted, refused unless it is True/False or a whole count of zero or
    more."""
    if isinstance(outcome, bool):
        return True, int(outcome)
    if isinstance(outcome, int) and outcome >= 0:
        return False, outcome
    raise InvalidArgumentError("an outcome is True/False or a whole count of zero or more",
                               details={"value": repr(outcome)})


def outcome_kind(tallies: Iterable[Tally], measured: bool) -> str | None:
    """'proportion' when every known outcome is a yes/no, 'rate' when some is a count; None
    when no outcome is measured at all."""
    if not measured:
        return None
    counts = any(not yes_no for tally in tallies for yes_no, _ in tally.known)
    return "rate" if counts else "proportion"


def outcome_value(outcomes: Outcomes | None, case_id: int) -> OutcomeValue:
    """The case's outcome (None: not measured, or unknown); checked as known_value checks."""
    value = None if outcomes is None else outcomes.get(case_id)
    if value is not None:
        known_value(value)
    return value


def tally_cases(cases: Iterable[CaseRecord], outcomes: Outcomes | None) -> Tally:
    """The cases counted one by one, kept in `records`."""
    tally = Tally()
    for case in cases:
        if case.id is not None:
            tally.add(case.status, outcome_value(outcomes, case.id))
            tally.records.append(case)
    return tally


def groups_from_cases(cases: Iterable[CaseRecord], outcomes: Outcomes | None,
                      arms: Mapping[int, int | None], happened: Iterable[int] = (),
                      answers: Mapping[int, Any] | None = None,
                      engaged: Mapping[int, bool | None] | None = None) -> list[CaseGroup]:
    """Per-case facts counted into CaseGroups, as the database counts them (the outcomes
    measured from imported data, and the reference the database's groups are tested
    against). `answers`: each case's answer split by (None: no split)."""
    done = set(happened)
    counted: Counter[tuple[Any, ...]] = Counter()
    for case in cases:
        if case.id is None:
            continue
        outcome = outcome_value(outcomes, case.id)
        counted[(case.version, case.status, arms.get(case.id),
                 None if outcome is None else known_value(outcome), case.id in done,
                 None if answers is None else answer_label(answers.get(case.id)),
                 None if engaged is None else engaged.get(case.id))] += 1
    return _groups(counted)


def merged(groups: Iterable[CaseGroup]) -> list[CaseGroup]:
    """Groups equal in every fact added together (a yes and a count of one kept apart)."""
    counted: Counter[tuple[Any, ...]] = Counter()
    for group in groups:
        counted[(group.version, group.status, group.arm,
                 None if group.outcome is None else known_value(group.outcome),
                 group.happened, group.answer, group.engaged)] += group.cases
    return _groups(counted)


def with_outcomes(groups: Iterable[tuple[OutcomeValue, CaseGroup]]) -> list[CaseGroup]:
    """Groups given an outcome each (None: unknown; DashboardSummaries.client_groups, with
    each client's measured value) added together, as merged adds them. Many rows, but few
    kinds of group, each usually one object: cases are counted per group object and value
    first, each group's facts read once."""
    per_group: dict[int, tuple[CaseGroup, Counter[tuple[bool, Any]]]] = {}
    for value, group in groups:
        entry = per_group.get(id(group))
        if entry is None:
            entry = per_group[id(group)] = (group, Counter())
        entry[1][(isinstance(value, bool), value)] += group.cases  # True and 1 apart
    counted: Counter[tuple[Any, ...]] = Counter()
    for group, values in per_group.values():
        for (_, value), cases in values.items():
            counted[(group.version, group.status, group.arm,
                     None if value is None else known_value(value), group.happened,
                     group.answer, group.engaged)] += cases
    return _groups(counted)


def _groups(counted: Counter[tuple[Any, ...]]) -> list[CaseGroup]:
    """The counted facts as CaseGroups, in group_order."""
    return sorted((CaseGroup(version, status, arm, outcome_of_known(known), happened, label,
                             engaged, cases)
                   for (version, status, arm, known, happened, label, engaged), cases
                   in counted.items()), key=group_order)


def groups_from_facts(cases: Iterable[CaseRecord], facts: Iterable[CaseFacts],
                      outcomes: Outcomes | None, *, answer: str | None, days: int
                      ) -> list[CaseGroup]:
    """Cases and their facts (one per case with summarised events) counted into groups, as
    DashboardSummaries.case_groups counts them, with each case's outcome from `outcomes`;
    `answer`: the dotted path of the answer to split by."""
    chosen = [case for case in cases if case.id is not None]
    by_id = {fact.case_id: fact for fact in facts}
    window = timedelta(days=days)

    def engaged(case: CaseRecord) -> bool | None:
        fact = by_id.get(case.id or 0)
        start = fact.started_at if fact is not None and fact.started_at else case.created_at
        last = fact.last_completed_at if fact is not None else None
        return None if start is None else last is not None and last >= start + window

    return groups_from_cases(
        chosen, outcomes, {i: fact.arm for i, fact in by_id.items()},
        [i for i, fact in by_id.items() if fact.happened],
        None if answer is None else {case.id or 0: None if '"' in answer
                                     else dig(case.data, answer) for case in chosen},
        {case.id or 0: engaged(case) for case in chosen})


def group_order(group: CaseGroup) -> tuple[Any, ...]:
    """An order for groups (the database gives them in any order)."""
    known = None if group.outcome is None else known_value(group.outcome)
    return (group.version, group.status, -1 if group.arm is None else group.arm,
            (-1, 0) if known is None else known, group.happened, group.answer or "",
            -1 if group.engaged is None else int(group.engaged))


def outcome_of_known(known: Known | None) -> OutcomeValue:
    """The outcome a counted one stands for (known_value's inverse)."""
    if known is None:
        return None
    yes_no, value = known
    return bool(value) if yes_no else value


def answer_label(value: Any) -> str:
    """An answer as its group is labelled: as JSON writes it ('true', 'false', '3',
    'text'); no answer is '(missing)'."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
