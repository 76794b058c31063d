"""Each answer's values among a pathway's cases, kept as cases are written (issue 17).

Which answers the dashboard's tables may be split by depends on their distinct values among
the pathway's cases (web.dashboard_figures._fields). Reading them from every case's data
decompressed and unpacked each case's JSON document: most of a cold page's time at 100,000
clients. Instead `summary_answers` counts, per pathway, top-level answer and value, the cases
holding it, changed in the transaction of the write that changes a case's data (add, save:
adapters.sql.repositories.workflow.SqlCaseRepository) by one upsert of the differences; a
value is there while its count is above 0. Migration 0025 counts the cases stored before.

The differences are summed as cases are written and upserted at the commit (the unit of
work's commit asks SqlCaseRepository.write_counts), not at each write: every case of a
pathway that sets an answer adds to the same row, which an upsert locks until the commit, so
a transaction that writes several cases (the worker's group commit) would otherwise hold it
from its first case on and other workers' cases would wait for it, one batch after another.

Values are told apart as JSON holds them (true, 1, "1" and 1.0 are four), an object whatever
its keys' order. A name or value whose JSON text is longer than LONGEST is keyed by a digest
of it (an index entry has a size limit); the value's whole text is kept beside its key.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, select

from adapters.sql import tables
from adapters.sql.repositories.common import DIALECT_INSERTS

LONGEST = 200
# a case's answers as counted: name key -> (value key, value's JSON text)
Answers = dict[str, tuple[str, str]]
_UPSERT: dict[str, Any] = {}


def key_of(text: str) -> str:
    """The key a name or a value's JSON text is stored under (no JSON text starts with #)."""
    if len(text) <= LONGEST:
        return text
    return "#" + hashlib.sha256(text.encode()).hexdigest()


def answers_of(data: Any) -> Answers:
    """The top-level answers of a case's data that count: every one but null."""
    if not isinstance(data, dict):
        return {}
    found: Answers = {}
    for name, value in data.items():
        if value is None:
            continue
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        found[key_of(str(name))] = (key_of(text), text)
    return found


def changes(old: Answers, new: Answers) -> Counter[tuple[str, str, str]]:
    """What a case's change from answers `old` to `new` adds to each (name, value) count."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for name in old.keys() | new.keys():
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if was is not None:
            counts[(name, *was)] -= 1
        if now is not None:
            counts[(name, *now)] += 1
    return counts


def record(connection: Connection, counts: Mapping[tuple[str, str, str, str], int]) -> None:
    """Add `counts` ((pathway, name, value key, value) -> cases) to the pathways': one
    statement, its rows in key order (two transactions lock shared rows in the same order)."""
    rows = [{"pathway": pathway, "name": name, "value_key": value_key, "value": value,
             "cases": added}
            for (pathway, name, value_key, value), added in sorted(counts.items()) if added]
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect not in _UPSERT:
        table = tables.summary_answers
        statement = DIALECT_INSERTS[dialect](table)
        _UPSERT[dialect] = statement.on_conflict_do_update(
            index_elements=[table.c.pathway, table.c.name, table.c.value_key],
            set_={"cases": table.c.cases + statement.excluded.cases})
    connection.execute(_UPSERT[dialect], rows)


def values(connection: Connection, pathway: str, names: Collection[str]
           ) -> dict[str, list[Any]]:
    """Each named answer's distinct values among the pathway's cases (none: left out)."""
    a = tables.summary_answers
    by_key = {key_of(name): name for name in names}
    if not by_key:
        return {}
    found: dict[str, list[Any]] = {}
    for name, value in connection.execute(
            select(a.c.name, a.c.value).where(a.c.pathway == pathway,
                                              a.c.name.in_(sorted(by_key)), a.c.cases > 0)):
        found.setdefault(by_key[name], []).append(json.loads(value))
    return found


def rebuild(connection: Connection, batch: int = 2000) -> None:
    """Count the answers of every case stored (migration 0025), a batch of cases at a time."""
    c = tables.cases
    counts: dict[str, Counter[tuple[str, str, str]]] = {}
    last = 0
    while True:
        rows = connection.execute(select(c.c.id, c.c.pathway, c.c.data).where(c.c.id > last)
                                  .order_by(c.c.id).limit(batch)).all()
        if not rows:
            break
        for _, pathway, data in rows:
            counts.setdefault(pathway, Counter()).update(changes({}, answers_of(data)))
        last = rows[-1][0]
    record(connection, {(pathway, *key): added for pathway, counted in counts.items()
                        for key, added in counted.items()})
