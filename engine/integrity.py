"""The tamper-evident record: every event's hash chains it to the event before it in its case,
and a daily head chains every case's last hash (and the head before it).

Pure functions over values as storage reads them back; the writer (adapters.sql) and the
verifier (`pathways verify`) both call them, so the two cannot drift apart.

An event's hash is SHA-256 over one canonical JSON array: a version tag, the case id, the
sequence number, type, time (UTC, microseconds, a fixed format), step, actor, the data and
the previous event's hash (GENESIS for a case's first event). Canonical JSON sorts keys,
has no whitespace, escapes every non-ASCII character and writes a whole number below 2**63
as an integer and any other number as a float: PostgreSQL's JSONB gives 2.0 back as 2.0 but
1e20 as 100000000000000000000, and orders keys its own way; the hash is the same whichever
database the event is read from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The previous hash of a case's first event, and of the first published head."""

_EVENT_TAG = "pathways-event-1"
_HEAD_TAG = "pathways-head-1"

ALTERED = "altered"
MISSING = "missing"
REORDERED = "reordered"
UNRECORDED = "unrecorded"


_WHOLE = 2**63  # whole numbers below this are written as integers, the rest as floats


def _plain(value: Any) -> Any:
    """value with every number in one form (see the module's note on JSONB): a whole number
    below 2**63 as an int, any other number as a float. Dispatch on the exact type: values
    read from JSON are dicts, lists, str, int, float, bool and None (isinstance against
    Mapping was half the cost of hashing an event)."""
    kind = type(value)
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is float:
        return int(value) if value.is_integer() and -_WHOLE < value < _WHOLE else value
    if kind is int and not -_WHOLE < value < _WHOLE:
        try:
            return float(value)
        except OverflowError:
            return value
    return value


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                            allow_nan=False)


def canonical_json(value: Any) -> str:
    """The one text of a JSON value: sorted keys, no whitespace, ASCII only; NaN refused."""
    return _ENCODER.encode(_plain(value))


def stamp(at: datetime) -> str:
    """A time as hashed: UTC with microseconds, e.g. 2027-01-02T09:30:00.000000Z."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} given; use an aware one")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_hash(case_id: int, seq: int, type_: str, at: datetime, step: str | None,
               actor: str | None, data: Any, previous: str) -> str:
    """The hash of one event, chained to previous (the hash of the event before it)."""
    text = canonical_json([_EVENT_TAG, case_id, seq, type_, stamp(at), step, actor, data,
                           previous])
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class HeadHasher:
    """The chain head over every case's last event up to a cut-off event id, fed in case
    order: (case id, sequence, hash) of each, after the previous head and the cut-off."""

    def __init__(self, previous: str, cut_off: int) -> None:
        self._digest = hashlib.sha256(f"{_HEAD_TAG}|{previous}|{cut_off}\n".encode("ascii"))
        self.cases = 0
        self.events = 0

    def add(self, case_id: int, seq: int, last_hash: str | None, events: int) -> None:
        """Add a case whose last event (by the cut-off) is seq, with `events` events."""
        self._digest.update(f"{case_id},{seq},{last_hash or ''}\n".encode("ascii"))
        self.cases += 1
        self.events += events

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it, with its id and stored hash."""

    id: int
    case_id: int
    seq: int
    type: str
    at: datetime
    step: str | None
    actor: str | None
    data: Any
    hash: str | None

    def expected_hash(self, previous: str, seq: int | None = None) -> str:
        """Its hash recomputed after previous (as if numbered seq, by default its own)."""
        return event_hash(self.case_id, self.seq if seq is None else seq, self.type, self.at,
                          self.step, self.actor, self.data, previous)


@dataclass(frozen=True)
class ChainProblem:
    """The first thing wrong in a case's chain: at `sequence`, event `event` (None where
    the event is missing), what (ALTERED, MISSING, REORDERED or UNRECORDED) and a sentence
    saying so."""

    case: int
    sequence: int
    event: int | None
    problem: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "sequence": self.sequence, "event": self.event,
                "problem": self.problem, "detail": self.detail}


class CaseChain:
    """Checks one case's events, fed in sequence order, against the chain; keeps only the
    running hash (constant memory). `recorded` is the sequence number of the last event the
    case row says it has (cases.event_seq, saved with every event the engine writes): a log
    that ends before it was cut short, an event past it was added by someone else.

    `last_by(cut_off)`: the case's last event with an id up to cut_off, as a head takes it."""

    def __init__(self, case_id: int, recorded: int, cut_off: int | None = None) -> None:
        self.case_id, self.recorded, self.cut_off = case_id, recorded, cut_off
        self.expected = 1
        self.previous = GENESIS
        self.problem: ChainProblem | None = None
        self.head_entry: tuple[int, str | None] | None = None
        self.head_events = 0
        self.checked = 0

    def feed(self, event: StoredEvent) -> None:
        self.checked += 1
        if self.cut_off is not None and event.id <= self.cut_off:
            self.head_entry = (event.seq, event.hash)
            self.head_events += 1
        if self.problem is not None:
            self._look_for_moved(event)
            return
        if event.seq != self.expected:
            self.problem = self._out_of_sequence(event)
            return
        if event.seq > self.recorded:
            self.problem = ChainProblem(
                self.case_id, event.seq, event.id, UNRECORDED,
                f"event {event.id} at sequence {event.seq} is past the case's last recorded "
                f"event ({self.recorded}): it was added outside the engine")
            return
        recomputed = event.expected_hash(self.previous)
        if event.hash == recomputed:
            self.previous = recomputed
            self.expected += 1
            return
        reason = ("it has no hash" if event.hash is None else
                  "its stored hash does not match its contents and the chain before it")
        self.problem = ChainProblem(self.case_id, event.seq, event.id, ALTERED,
                                    f"event {event.id} at sequence {event.seq}: {reason}")

    def _out_of_sequence(self, event: StoredEvent) -> ChainProblem:
        if event.seq > self.expected:
            gap = (str(self.expected) if event.seq == self.expected + 1
                   else f"{self.expected} to {event.seq - 1}")
            return ChainProblem(self.case_id, self.expected, None, MISSING,
                                f"event(s) {gap} missing: the next stored is sequence "
                                f"{event.seq} (event {event.id})")
        return ChainProblem(self.case_id, event.seq, event.id, ALTERED,
                            f"event {event.id} has sequence {event.seq}, below 1")

    def _look_for_moved(self, event: StoredEvent) -> None:
        """After an altered event: is a later one the event recorded at its place (numbers
        swapped)? Then the case's events were reordered, not edited."""
        first = self.problem
        if first is None or first.problem != ALTERED or first.event is None:
            return
        if event.hash is not None and event.hash == event.expected_hash(self.previous,
                                                                          first.sequence):
            self.problem = ChainProblem(
                self.case_id, first.sequence, first.event, REORDERED,
                f"event {first.event} is stored at sequence {first.sequence}, where event "
                f"{event.id} (now at sequence {event.seq}) was recorded")

    def finish(self) -> ChainProblem | None:
        """The case's first problem, once every event was fed (None: its chain holds)."""
        if self.problem is None and self.recorded >= self.expected:
            last = self.expected - 1
            self.problem = ChainProblem(
                self.case_id, self.expected, None, MISSING,
                f"the case records {self.recorded} event(s) but its log ends at "
                f"sequence {last}: the last event(s) were removed")
        return self.problem


MAX_LISTED = 1000
"""The problems a report lists (it counts them all): a log hashed some other way would
otherwise list every case."""


@dataclass
class ChainReport:
    """What checking the chains found. `head`: the chain head recomputed over the events
    up to the cut-off asked for (None when none was)."""

    cases_checked: int = 0
    events_checked: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    problems_total: int = 0
    head: HeadHasher | None = None

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    def close(self, chain: CaseChain) -> None:
        self.cases_checked += 1
        self.events_checked += chain.checked
        problem = chain.finish()
        if problem is not None:
            self.problems_total += 1
            if len(self.problems) < MAX_LISTED:
                self.problems.append(problem)
        if self.head is not None and chain.head_entry is not None:
            self.head.add(chain.case_id, chain.head_entry[0], chain.head_entry[1],
                          chain.head_events)


def check_chains(rows: Iterable[tuple[int, int, StoredEvent | None]], *,
                 cut_off: int | None = None, previous_head: str = GENESIS) -> ChainReport:
    """Check every case's chain from rows of (case id, the case's recorded last sequence,
    one of its events or None for a case without any), in case then sequence order: one
    case at a time in constant memory. With cut_off, recompute the head a publication at
    that event id made after previous_head."""
    report = ChainReport(head=None if cut_off is None else HeadHasher(previous_head, cut_off))
    chain: CaseChain | None = None
    for case_id, recorded, event in rows:
        if chain is None or chain.case_id != case_id:
            if chain is not None:
                report.close(chain)
            chain = CaseChain(case_id, recorded, cut_off)
        if event is not None:
            chain.feed(event)
    if chain is not None:
        report.close(chain)
    return report
