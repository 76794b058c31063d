"""Finding clients: the search, the access rule (engine.model.ClientScope), the order and the
page as one SQL statement, on SQLite and PostgreSQL alike.

The rule is engine.casework.casework_access.CaseworkContext.involved with
engine.access.record_access (no reason, no grant) written as predicates on the client's
rows: its create_client log entries, its consents, its cases and their open tasks. Every
subquery is tied to one client and reached through that client's index (access_log,
consents and cases by client_id, inbox_tasks by case_id), so a page costs what its clients
cost, not what the programme holds. tests/integration/test_client_search.py checks on
random data that it admits exactly the clients the Python rule admits.

Where stored JSON holds something the engine never writes (a case id as a float, a
break_glass flag of 0.0), the query may count an entry as break-glass where Python would
not: it then admits fewer clients, never more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, TextClause, bindparam, text

from engine.model import ClientScope

_FALSY = "('false', '0', '', '[]', '{}')"  # JSON values Python reads as false, as text


def _path(keys: tuple[str, ...], dialect: str) -> str:
    return "'{" + ",".join(keys) + "}'" if dialect == "postgresql" else \
        "'$." + ".".join(keys) + "'"


def _number(column: str, keys: tuple[str, ...], dialect: str) -> str:
    """The JSON value at keys as a number where it is one (true and false as 1 and 0, as
    Python compares them), else NULL."""
    path = _path(keys, dialect)
    if dialect == "postgresql":
        return (f"(CASE jsonb_typeof({column} #> {path}) "
                f"WHEN 'number' THEN ({column} #>> {path})::numeric "
                f"WHEN 'boolean' THEN (CASE WHEN {column} #>> {path} = 'true' THEN 1 ELSE 0 "
                f"END)::numeric END)")
    return (f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real', 'true', 'false') "
            f"THEN json_extract({column}, {path}) END)")


def _truthy(column: str, key: str, dialect: str) -> str:
    """Whether the JSON value at key is one Python reads as true (a non-zero float counts
    too: see the module's note)."""
    value = (f"({column} ->> '{key}')" if dialect == "postgresql"
             else f"CAST(json_extract({column}, '$.{key}') AS TEXT)")
    return f"({value} IS NOT NULL AND {value} NOT IN {_FALSY})"


def glass_entry(dialect: str, entry: str = "") -> str:
    """Whether the access-log entry (its table's alias, or none) was written under
    break-glass (casework_access.counted and glass_cases: a reason, or detail.break_glass).
    Also the predicate of the partial index ix_access_log_break_glass, which the query
    reaches by spelling it the same way."""
    at = f"{entry}." if entry else ""
    return (f"(({at}reason IS NOT NULL AND {at}reason <> '') "
            f"OR {_truthy(f'{at}detail', 'break_glass', dialect)})")


def _glass(entry: str, dialect: str) -> str:
    return glass_entry(dialect, entry)


def _created(org: str) -> str:
    return ("EXISTS (SELECT 1 FROM access_log AS made WHERE made.client_id = cl.id "
            f"AND made.action = 'create_client' AND made.organisation = {org})")


def _consented() -> str:
    """The client's latest programme consent in effect today (by effective_on, then
    recorded_at, then id) was given; consents recorded under break-glass (glass_consents)
    do not count."""
    def counted(consent: str) -> str:
        return (f"{consent}.client_id = cl.id AND {consent}.scope = 'programme' "
                f"AND {consent}.effective_on <= :today AND NOT EXISTS (SELECT 1 FROM "
                f"glass_consents AS n WHERE n.client_id = cl.id AND n.id = {consent}.id)")

    later = ("(later.effective_on > k.effective_on OR (later.effective_on = k.effective_on "
             "AND (later.recorded_at > k.recorded_at OR (later.recorded_at = k.recorded_at "
             "AND later.id > k.id))))")
    return (f"EXISTS (SELECT 1 FROM consents AS k WHERE {counted('k')} AND k.given "
            f"AND NOT EXISTS (SELECT 1 FROM consents AS later WHERE {counted('later')} "
            f"AND {later}))")


def _task_open_to_user(scope: ClientScope) -> str:
    """An active case of the client with an open task the user may do (access.may_do_task on
    its version), joined in one subquery: a client without one costs a probe of its cases
    and their tasks, not a subquery per case."""
    roles = " AND t.role IN :roles" if scope.pathway_roles else ""
    return ("EXISTS (SELECT 1 FROM cases AS c JOIN inbox_tasks AS t ON t.case_id = c.id "
            "WHERE c.client_id = cl.id AND c.status = 'active' "
            "AND t.status = 'open' AND (t.organisation IS NULL OR t.organisation = :org)"
            f"{roles} AND NOT EXISTS (SELECT 1 FROM unloadable AS u "
            "WHERE u.pathway = t.pathway AND u.version = t.version) "
            "AND NOT EXISTS (SELECT 1 FROM closed_roles AS x WHERE x.pathway = t.pathway "
            "AND x.version = t.version AND x.role = t.role) "  # a task in no lane: open
            f"AND {_not_glass()})")


def _glass_ctes(dialect: str) -> list[str]:
    """The break-glass entries of every client, found once per query through the partial
    index of break-glass log entries (few: break-glass is read-only now): glass(client_id,
    id, base), the cases started under break-glass and those referred from them, as
    casework_access.glass_cases follows referrals (in the order of case ids, per client);
    glass_consents(client_id, id), the consents recorded under break-glass."""
    started = _number("a.detail", ("case",), dialect)
    referred_from = _number("y.data", ("referral", "from_case"), dialect)
    case_id = "CAST(y.id AS NUMERIC)" if dialect == "postgresql" else "y.id"
    return [
        "glass(client_id, id, base) AS ("
        f"SELECT a.client_id, {started}, 1 FROM access_log AS a WHERE {_glass('a', dialect)} "
        f"AND a.action = 'start_case' AND {started} IS NOT NULL "
        f"UNION SELECT y.client_id, {case_id}, 0 FROM glass AS g JOIN cases AS y "
        f"ON y.client_id = g.client_id AND {referred_from} = g.id "
        "AND (g.base = 1 OR g.id < y.id))",
        "glass_consents(client_id, id) AS MATERIALIZED ("
        f"SELECT a.client_id, {_number('a.detail', ('consent',), dialect)} FROM access_log "
        f"AS a WHERE {_glass('a', dialect)} AND a.action = 'record_consent')"]


def _not_glass() -> str:
    return "NOT EXISTS (SELECT 1 FROM glass AS gc WHERE gc.client_id = cl.id AND gc.id = c.id)"


def _through_a_case(scope: ClientScope) -> str:
    """A case not started under break-glass nor referred from one (glass) on a version
    involving the organisation (none to look for when no version does), or active with an
    open task the user may do."""
    task = _task_open_to_user(scope)
    if not scope.involving:
        return task
    return ("(EXISTS (SELECT 1 FROM cases AS c WHERE c.client_id = cl.id "
            "AND EXISTS (SELECT 1 FROM involving AS i WHERE i.pathway = c.pathway "
            f"AND i.version = c.version) AND {_not_glass()}) OR {task})")


def _values(name: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]],
            params: dict[str, Any]) -> str:
    """A CTE of constant rows (bound parameters), or of none."""
    found = []
    for number, row in enumerate(sorted(rows)):
        keys = [f"{name}_{number}_{place}" for place in range(len(columns))]
        params.update(zip(keys, row, strict=True))
        found.append("(" + ", ".join(f":{key}" for key in keys) + ")")
    kinds = {"version": "INTEGER"}
    body = ("VALUES " + ", ".join(found)) if found else ("SELECT " + ", ".join(
        f"CAST(NULL AS {kinds.get(column, 'VARCHAR')}) AS {column}" for column in columns)
        + " WHERE 1 = 0")
    return f"{name}({', '.join(columns)}) AS ({body})"


def _matching(wanted: str, dialect: str, params: dict[str, Any]) -> str:
    """The lowered name contains wanted, or the client's number is wanted."""
    if not wanted:
        return "1 = 1"
    number = int(wanted) if (wanted.isascii() and wanted.isdecimal() and len(wanted) < 18
                             and str(int(wanted)) == wanted) else None
    by_number = " OR cl.id = :number" if number is not None else ""
    if number is not None:
        params["number"] = number
    if dialect == "postgresql":
        if "\x00" in wanted:  # PostgreSQL text never holds NUL: no name contains it
            return f"(1 = 0{by_number})"
        params["pattern"] = "%" + (wanted.replace("!", "!!").replace("%", "!%")
                                   .replace("_", "!_")) + "%"
        return f"(cl.search_name LIKE :pattern ESCAPE '!'{by_number})"
    params["wanted"] = wanted
    return f"(instr(cl.search_name, :wanted) > 0{by_number})"


def find_statement(scope: ClientScope, wanted: str, dialect: str, *, limit: int,
                   offset: int) -> TextClause:
    """The page of clients the scope admits whose lowered name contains wanted (or whose
    number it is), by lowered name then id: id, name, created_at."""
    params: dict[str, Any] = {"limit": limit, "offset": offset, "today": scope.today,
                              "org": scope.organisation}
    ctes = [_values("involving", ("pathway", "version"), scope.involving, params),
            _values("unloadable", ("pathway", "version"), scope.unloadable, params),
            _values("closed_roles", ("pathway", "version", "role"), scope.closed_roles,
                    params)]
    admitted = "1 = 1"
    if scope.organisation is not None:
        ctes += _glass_ctes(dialect)
        admitted = f"({_created(':org')} OR {_consented()} OR {_through_a_case(scope)})"
    matching = _matching(wanted, dialect, params)
    if dialect == "postgresql" and scope.organisation is not None:
        # the matches in order first (a sort of the trigram index's few rows, or the name
        # index read in order), then the access rule on them in that order until the page is
        # full: without the fence (OFFSET 0) PostgreSQL checks the rule on every match before
        # sorting them, thousands of clients for a common name
        source = ("(SELECT cl.id, cl.name, cl.created_at, cl.search_name FROM clients AS cl "
                  f"WHERE {matching} ORDER BY cl.search_name, cl.id OFFSET 0) AS cl")
        where = admitted
    else:
        source, where = "clients AS cl", f"{matching} AND {admitted}"
    sql = (f"WITH RECURSIVE {', '.join(ctes)} "
           f"SELECT cl.id, cl.name, cl.created_at FROM {source} WHERE {where} "
           "ORDER BY cl.search_name, cl.id LIMIT :limit OFFSET :offset")
    binds = [bindparam("today", type_=Date()),
             bindparam("roles", value=list(scope.pathway_roles), expanding=True)]
    used = {key: value for key, value in params.items() if re.search(f":{key}\\b", sql)}
    return text(sql).bindparams(*(b for b in binds if re.search(f":{b.key}\\b", sql))
                                ).bindparams(**used)
