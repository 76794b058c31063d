"""The per-step figures read from what adapters.sql.step_summaries keeps (issue 12, item 9).

The groups' figures are summed per cohort ("all": by version, "randomised": by arm) once
engine.access.privacy's rule (HiddenSteps) is applied: a hidden version or step drops its
groups; a case with an event hidden by the names in its data is taken out as stored and put
back as shown, worked out again from its summary_events. A median is found in two reads:
the bucket counts, then the distinct values of the one or two buckets holding the middle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, func, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from adapters.sql import tables
from adapters.sql.step_summaries import (
    NO_ARM,
    TASKS,
    CaseStep,
    First,
    GroupKey,
    bucket_of,
    case_steps,
    values_of,
)
from engine.summary_ports import HiddenSteps, StepCounts, StepFigures

# -- read for the dashboard --------------------------------------------------------------------


@dataclass
class _Group:
    """A group's figures as read, then corrected for the events the viewer may not see."""

    reached: int
    done: int
    completions: int
    hours_sum: float
    first: First | None


@dataclass
class _Correction:
    """What hiding events changes: each hidden-by-name case's steps as stored, taken out,
    and as shown, put back."""

    groups: dict[GroupKey, _Group] = field(default_factory=dict)
    values: dict[tuple[GroupKey, str], list[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(list))  # (value, +1 or -1)
    cases: set[int] = field(default_factory=set)
    firsts: dict[GroupKey, list[First]] = field(default_factory=lambda: defaultdict(list))

    def take(self, key: GroupKey, found: CaseStep, case_id: int, sign: int) -> None:
        group = self.groups.setdefault(key, _Group(0, 0, 0, 0.0, None))
        group.reached += sign
        group.done += sign * int(found.done_seq is not None)
        group.completions += sign * found.completions
        group.hours_sum += sign * found.hours_sum
        for kind, value in values_of(found):
            self.values[(key, kind)].append((value, sign))
        if sign > 0:
            self.firsts[key].append((found.first_at, case_id, found.first_seq))


def read_step_figures(connection: Connection, pathway: str, hidden: HiddenSteps
                      ) -> StepFigures:
    """The per-step figures of the pathway's cases, the events the rule hides left out (the
    same figures engine.outcomes.analysis computes from the shown events)."""
    g = tables.summary_step_groups
    groups = {(row.version, row.arm, row.step): _Group(
                  row.reached, row.done, row.completions, row.hours_sum,
                  None if row.first_at is None else (row.first_at, row.first_case,
                                                     row.first_seq))
              for row in connection.execute(select(g).where(g.c.pathway == pathway))}
    correction = _corrections(connection, pathway, hidden)
    totals = _totals(groups, correction, hidden)
    _firsts(connection, pathway, groups, correction, totals)
    members: dict[tuple[str, int, str], list[GroupKey]] = defaultdict(list)
    for key in (key for key, total in totals.items() if total.reached > 0):
        version, arm, step = key
        members[("all", version, step)].append(key)
        if arm != NO_ARM:
            members[("randomised", arm, step)].append(key)
    medians = _Medians(connection, pathway, correction).find(members)
    counts = {(cohort, grp, step): _counts([totals[key] for key in keys], medians.get(
                  (cohort, grp, step, "each")), medians.get((cohort, grp, step, "first")))
              for (cohort, grp, step), keys in sorted(members.items())}
    earliest: dict[str, First] = {}
    for (_, _, step), total in totals.items():
        if total.reached > 0 and total.first is not None:
            earliest[step] = min(earliest.get(step, total.first), total.first)
    return StepFigures(tuple(sorted(earliest, key=lambda step: earliest[step])), counts)


def _counts(chosen: Sequence[_Group], median: float | None, median_from_start: float | None
            ) -> StepCounts:
    completions = sum(total.completions for total in chosen)
    hours = sum(total.hours_sum for total in chosen)
    return StepCounts(sum(total.reached for total in chosen),
                      sum(total.done for total in chosen), completions, median,
                      hours / completions if completions else None, median_from_start)


def _totals(groups: Mapping[GroupKey, _Group], correction: _Correction, hidden: HiddenSteps
            ) -> dict[GroupKey, _Group]:
    """The groups the rule shows (not of a hidden version, nor a hidden step of theirs),
    corrected; their earliest events are found next (_firsts)."""
    nothing = _Group(0, 0, 0, 0.0, None)
    totals = {}
    for key in set(groups) | set(correction.groups):
        version, _, step = key
        if version in hidden.versions or step in hidden.steps.get(version, frozenset()):
            continue
        base, change = groups.get(key, nothing), correction.groups.get(key, nothing)
        totals[key] = _Group(base.reached + change.reached, base.done + change.done,
                             base.completions + change.completions,
                             base.hours_sum + change.hours_sum, None)
    return totals


def _corrections(connection: Connection, pathway: str, hidden: HiddenSteps) -> _Correction:
    """The cases with a task event, or the split that gave them their arm, hidden by the
    names in its data: their steps as stored (to take out) and as shown (to put back)."""
    correction = _Correction()
    s, c, sc = tables.summary_events, tables.cases, tables.summary_cases
    hidden_events = hidden_by_name(
        connection, pathway, hidden, (*TASKS, "version_allocated"),
        or_(s.c.type.in_(TASKS), and_(s.c.type == "version_allocated", s.c.split.is_(True))))
    correction.cases = {case_id for case_id, _ in hidden_events}
    if not correction.cases:
        return correction
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in connection.execute(
            select(s.c.case_id, s.c.seq, s.c.type, s.c.step, s.c.at, s.c.hours,
                   s.c.hours_from_start, s.c.split, s.c.arm)
            .where(s.c.case_id.in_(sorted(correction.cases)),
                   or_(s.c.type.in_(TASKS), s.c.type == "version_allocated"))
            .order_by(s.c.case_id, s.c.seq)):
        events[row.case_id].append(dict(row._mapping))
    for held in connection.execute(select(sc.c.case_id, c.c.version, sc.c.arm)
                                   .select_from(sc.join(c, c.c.id == sc.c.case_id))
                                   .where(sc.c.case_id.in_(sorted(correction.cases)))):
        found = events[held.case_id]
        visible = [e for e in found if (held.case_id, e["seq"]) not in hidden_events]
        for sign, chosen, arm in ((-1, found, held.arm or NO_ARM), (1, visible, _arm(visible))):
            for step, case_step in case_steps(chosen).items():
                correction.take((held.version, arm, step), case_step, held.case_id, sign)
    return correction


def hidden_by_name(connection: Connection, pathway: str, hidden: HiddenSteps,
                   types: Collection[str], which: ColumnElement[bool]
                   ) -> set[tuple[int, int]]:
    """The pathway's summarised events (`which` of them, of these `types`) that the rule
    hides by the names in their data, as (case id, seq): found in the names' index by
    pathway, type and name (revision 0033), so only this pathway's few are read, not every
    event of every pathway that names them. Each name found then looks up its event (and
    case) by key, a subquery per name row: a join let a planner read every event of the
    types instead, when it thought the names many."""
    s, n, c = tables.summary_events, tables.summary_event_names, tables.cases
    everywhere = sorted(hidden.everywhere)
    by_version = {version: sorted(steps) for version, steps in sorted(hidden.steps.items())
                  if steps}
    names = sorted(set(everywhere).union(*by_version.values()))
    if not names:
        return set()
    event = select(s.c.seq).where(s.c.case_id == n.c.case_id, s.c.seq == n.c.seq, which)
    version = select(c.c.version).where(c.c.id == n.c.case_id).scalar_subquery()
    by_name: list[ColumnElement[bool]] = [n.c.name.in_(everywhere)] if everywhere else []
    by_name += [and_(version == held, n.c.name.in_(steps))
                for held, steps in by_version.items()]
    return {(row.case_id, row.seq) for row in connection.execute(
        select(n.c.case_id, n.c.seq)  # an event's names found twice: one in the set
        .where(n.c.pathway == pathway, n.c.type.in_(sorted(types)), n.c.name.in_(names),
               event.scalar_subquery().is_not(None), or_(*by_name)))}


def _arm(events: Iterable[Mapping[str, Any]]) -> int:
    """The version a case's first split allocation chose (NO_ARM: none, or none named)."""
    first = next((e for e in events if e["type"] == "version_allocated" and e["split"]), None)
    return first["arm"] if first is not None and first["arm"] is not None else NO_ARM


def _firsts(connection: Connection, pathway: str, groups: Mapping[GroupKey, _Group],
            correction: _Correction, totals: dict[GroupKey, _Group]) -> None:
    """Each shown group's earliest shown task event: the stored one, unless its case was
    corrected (then the next cases' in order, past the corrected ones), or a corrected case's
    shown one if earlier."""
    cs = tables.summary_case_steps
    for key, total in totals.items():
        stored = groups.get(key)
        first = stored.first if stored is not None else None
        if first is not None and first[1] in correction.cases:
            version, arm, step = key
            first = None
            for row in connection.execute(
                    select(cs.c.first_at, cs.c.case_id, cs.c.first_seq)
                    .where(cs.c.pathway == pathway, cs.c.version == version, cs.c.arm == arm,
                           cs.c.step == step)
                    .order_by(cs.c.first_at, cs.c.case_id, cs.c.first_seq)
                    .limit(len(correction.cases) + 1)):
                if row.case_id not in correction.cases:
                    first = (row.first_at, row.case_id, row.first_seq)
                    break
        candidates = [f for f in (first, *correction.firsts.get(key, ())) if f is not None]
        totals[key] = replace(total, first=min(candidates) if candidates else None)


class _Medians:
    """Exact medians per (cohort, group, step, kind) from the bucket counts, then the values
    of the middle buckets only."""

    def __init__(self, connection: Connection, pathway: str, correction: _Correction) -> None:
        self._connection = connection
        self._pathway = pathway
        self._correction = correction

    def find(self, members: Mapping[tuple[str, int, str], list[GroupKey]]
             ) -> dict[tuple[str, int, str, str], float]:
        counts = self._bucket_counts()
        wanted: dict[tuple[str, int, str, str], list[tuple[int, int]]] = {}
        for (cohort, grp, step), keys in members.items():
            for kind in ("each", "first"):
                merged: dict[int, int] = defaultdict(int)
                for key in keys:
                    for bucket, n in counts.get((key, kind), {}).items():
                        merged[bucket] += n
                wanted[(cohort, grp, step, kind)] = _middle(merged)
        values = self._bucket_values({(key, kind, bucket)
                                      for (cohort, grp, step, kind), places in wanted.items()
                                      for bucket, _ in places
                                      for key in members[(cohort, grp, step)]})
        found = {}
        for (cohort, grp, step, kind), places in wanted.items():
            middle = []
            for bucket, rank in places:
                ordered: dict[float, int] = defaultdict(int)
                for key in members[(cohort, grp, step)]:
                    for value, n in values.get((key, kind, bucket), {}).items():
                        ordered[value] += n
                middle.append(_nth(ordered, rank))
            if middle:
                found[(cohort, grp, step, kind)] = (middle[0] + middle[-1]) / 2
        return found

    def _bucket_counts(self) -> dict[tuple[GroupKey, str], dict[int, int]]:
        """How many values each bucket of each group holds, corrected."""
        b = tables.summary_step_buckets
        counts: dict[tuple[GroupKey, str], dict[int, int]] = defaultdict(
            lambda: defaultdict(int))
        for row in self._connection.execute(select(b).where(b.c.pathway == self._pathway,
                                                            b.c.n != 0)):
            counts[((row.version, row.arm, row.step), row.kind)][row.bucket] += row.n
        for (key, kind), changes in self._correction.values.items():
            for value, sign in changes:
                counts[(key, kind)][bucket_of(value)] += sign
        return counts

    def _bucket_values(self, needed: set[tuple[GroupKey, str, int]]
                       ) -> dict[tuple[GroupKey, str, int], dict[float, int]]:
        """The distinct values and how many of each, in the buckets asked for (with the
        corrections applied)."""
        found: dict[tuple[GroupKey, str, int], dict[float, int]] = defaultdict(
            lambda: defaultdict(int))
        if not needed:
            return found
        v = tables.summary_step_values
        ordered = sorted(needed)
        for first in range(0, len(ordered), 200):
            # a SELECT per bucket, each a range of the index that ends in the values (read
            # in order, grouped as read): one bitmap over every bucket read the table too
            places = [select(literal(number).label("place"), v.c.hours,
                             func.count().label("n"))
                      .where(v.c.pathway == self._pathway, v.c.version == version,
                             v.c.arm == arm, v.c.step == step, v.c.kind == kind,
                             v.c.bucket == bucket)
                      .group_by(v.c.hours)
                      for number, ((version, arm, step), kind, bucket)
                      in enumerate(ordered[first:first + 200], start=first)]
            for place, hours, n in self._connection.execute(
                    places[0] if len(places) == 1 else union_all(*places)):
                found[ordered[place]][float(hours)] += n
        for (key, kind), changes in self._correction.values.items():
            for value, sign in changes:
                place = (key, kind, bucket_of(value))
                if place in needed:
                    found[place][value] += sign
        return found


def _middle(counts: Mapping[int, int]) -> list[tuple[int, int]]:
    """The bucket and the rank within it of the middle value (or two), as statistics.median
    takes them; none for no values."""
    total = sum(counts.values())
    if total <= 0:
        return []
    ranks = sorted({(total + 1) // 2, total // 2 + 1})
    found, seen = [], 0
    for bucket in sorted(counts):
        n = counts[bucket]
        for rank in ranks:
            if seen < rank <= seen + n:
                found.append((bucket, rank - seen))
        seen += n
    return found


def _nth(values: Mapping[float, int], rank: int) -> float:
    """The rank-th smallest value (from 1) of a multiset given as value -> count."""
    seen = 0
    for value in sorted(values):
        seen += values[value]
        if values[value] > 0 and seen >= rank:
            return value
    raise ValueError("the bucket holds fewer values than its count says")
