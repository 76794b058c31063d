"""The client list and search as one SQL query (issue 17, item 3) admit exactly the clients
the engine's own per-client checks admit, on SQLite and PostgreSQL.

Random programmes: three organisations, pathways owned by some and with lane roles named
for others, a version whose stored files no longer load and cases on a version never
stored; clients created by one organisation or none; programme consents given, withdrawn,
not yet in effect, tied on the day and on the time they were recorded, some recorded under
break-glass; cases started under break-glass (a reason, or only the break_glass flag) and
cases referred from them, in id order and out of it; open and closed tasks of one
organisation or of none, in lanes open to all, to some, or in none. For every kind of user
the query's answer must be the old answer: every client read, and
CaseworkContext.involved with access.record_access asked of each (engine.casework before
issue 17), then filtered by name or number and sorted by lowered name and id.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from adapters.sql import tables
from dsl import compile_pathway, load_pathway
from engine import Engine as PathwaysEngine
from engine import access
from engine.casework import Casework
from engine.casework.casework_access import CaseworkContext, counted
from engine.model import AccessEntry, CaseRecord, Client, Consent, InboxTask, User
from engine.ports import UnitOfWorkFactory
from tests.pathway_texts import pathway_head
from tests.unit.engine.fakes import FakeClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ORGS = ("a", "b", "c")
NAMES = ("Sam Smith", "sam smith", "Zoë Smith", "ÖZTÜRK Ali", "Smithers", "O'Brien_x",
         "100% Kim", "Kim Jones", "İpek Ay", "ΟΔΥΣΣΕΑΣ", "Ada", "ada")
QUERIES = ("", "smith", "  SMITH ", "ö", "öz", "\u03c3", "\u03c2", "100%", "_", "%",
           "i\u0307", "kim jones", "zz", "a")  # sigma, final sigma, i + combining dot


def _pathway(name: str, owner: str, roles: dict[str, list[str]]) -> str:
    lanes = "".join(f"  {role}: {{title: {role}, organisations: [{', '.join(orgs)}]}}\n"
                    for role, orgs in roles.items())
    steps = "".join(f"  - task: do_{role}\n    role: {role}\n    title: Do {role}\n"
                    for role in roles)
    return pathway_head(name, name.title(), owner) + lanes + "steps:\n" + steps


PATHWAYS = (
    _pathway("alpha", "a", {"r1": ["b"], "r2": []}),
    _pathway("beta", "c", {"r1": ["c"], "r3": ["a", "c"]}),
    _pathway("beta", "c", {"r1": ["b"], "r3": ["a", "c"], "r4": []}),  # beta version 2
    _pathway("gamma", "b", {"r2": ["b"]}),  # its stored files are broken below
)
VERSIONS = (("alpha", 1), ("beta", 1), ("beta", 2), ("gamma", 1), ("ghost", 1))
ROLES = ("r1", "r2", "r3", "r4", None)


def _users() -> list[User]:
    found = [User(id=None, username="admin", name="Admin", organisation="c", role="admin")]
    for org in ORGS:
        found += [
            User(id=None, username=f"cw_{org}", name="W", organisation=org, role="caseworker"),
            User(id=None, username=f"r1_{org}", name="R", organisation=org, role="caseworker",
                 pathway_roles=("r1",)),
            User(id=None, username=f"lead_{org}", name="L", organisation=org,
                 role="team_lead", pathway_roles=("r3", "r2"))]
    return found


def _publish(uow_factory: UnitOfWorkFactory, db_engine: Engine) -> None:
    engine = PathwaysEngine(uow=uow_factory, clock=FakeClock(NOW))
    for text in PATHWAYS:
        compiled = compile_pathway(load_pathway(text, "p.yaml"))
        engine.publish(compiled.files(), compiled.bpmn_file)
    with db_engine.begin() as connection:
        rotten = connection.execute(select(tables.versions.c.bundle_hash).where(
            tables.versions.c.pathway == "gamma")).scalar_one()
        connection.execute(update(tables.bundles).where(tables.bundles.c.hash == rotten)
                           .values(files={"rotten.bpmn": "<bpmn:definitions>no longer"}))


def _glass_entry(rng: random.Random) -> tuple[str | None, dict[str, object]]:
    """A log entry's reason and break_glass flag: under break-glass or not."""
    kind = rng.choice(("plain", "plain", "reason", "flag", "empty_reason"))
    return {"plain": (None, {"break_glass": False}),
            "reason": ("the client rang in distress", {"break_glass": True}),
            "flag": (None, {"break_glass": True}),
            "empty_reason": ("", {})}[kind]


def _client(uow: object, rng: random.Random, number: int, others: list[int]) -> None:
    """One client with a random history (see the module's docstring)."""
    at = NOW - timedelta(days=30)
    client = uow.clients.add(Client(None, rng.choice(NAMES), {}, at))  # type: ignore[attr-defined]
    cid = client.id

    def log(action: str, org: str, reason: str | None = None, **detail: object) -> None:
        uow.access_log.add(AccessEntry(None, at, "someone", org, cid, action,  # type: ignore[attr-defined]
                                       reason, dict(detail)))

    if rng.random() < 0.35:
        log("create_client", rng.choice(ORGS))
    if rng.random() < 0.3:
        log("view_client", rng.choice(ORGS), "looked for a good reason", break_glass=True)
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        consent = uow.consents.add(Consent(  # type: ignore[attr-defined]
            None, cid, rng.random() < 0.6, rng.choice(("programme", "programme", "health")),
            "sharing", "someone", NOW - timedelta(hours=rng.choice((1, 2, 2, 30))),
            NOW.date() + timedelta(days=rng.choice((-5, -1, -1, 0, 0, 2)))))
        if rng.random() < 0.3:
            reason, detail = _glass_entry(rng)
            log("record_consent", rng.choice(ORGS), reason, consent=consent.id, **detail)
    previous: list[int] = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        pathway, version = rng.choice(VERSIONS)
        data: dict[str, object] = {}
        if previous and rng.random() < 0.5:
            data["referral"] = {"from_case": rng.choice(previous + others[-3:])}
        elif others and rng.random() < 0.2:  # from the case added next (glass_cases
            data["referral"] = {"from_case": others[-1] + 2}  # follows ids in order)
        case = uow.cases.add(CaseRecord(  # type: ignore[attr-defined]
            None, pathway, version, cid, rng.choice(("active", "active", "completed")), {},
            data=data))
        previous.append(case.id)
        others.append(case.id)
        reason, detail = _glass_entry(rng)
        if rng.random() < 0.7:
            log("start_case", rng.choice(ORGS), reason, case=case.id, **detail)
        if rng.random() < 0.08 and previous:  # a break-glass start naming a later case
            log("start_case", rng.choice(ORGS), "it was needed urgently", case=case.id + 1)
        tasks = [InboxTask(f"t{case.id}_{n}", case.id, pathway, version, "step", "Step",
                           rng.choice(ROLES), None, None,
                           organisation=rng.choice((None, None, *ORGS)))
                 for n in range(rng.choice((0, 1, 2)))]
        uow.inbox.replace_open(case.id, tasks)  # type: ignore[attr-defined]
        for task in tasks:
            if rng.random() < 0.3:
                uow.inbox.close(task.id, completed_by="x", at=NOW)  # type: ignore[attr-defined]


def _old_answer(cw: CaseworkContext, user: User, query: str) -> list[int]:
    """engine.casework.casework_clients.clients before issue 17: every client read, each
    checked in Python (CaseworkContext.involved, access.record_access), no limit."""
    wanted = query.strip().lower()
    today = cw.clock.now().date()
    found: list[Client] = []
    with cw.uow(read_only=True) as uow:
        for client in uow.clients.list():
            if client.id is None or (wanted and wanted not in client.name.lower()
                                     and wanted != str(client.id)):
                continue
            cases = uow.cases.list(client_id=client.id)
            log = uow.access_log.list(client_id=client.id)
            decision = access.record_access(
                user, involved=cw.involved(uow, user, cases, log),
                consents=counted(uow.consents.for_client(client.id), log), today=today)
            if decision.allowed:
                found.append(client)
    return [c.id or 0 for c in sorted(found, key=lambda c: (c.name.lower(), c.id or 0))]


@pytest.fixture
def programme(uow_factory: UnitOfWorkFactory, db_engine: Engine) -> Iterator[Casework]:
    _publish(uow_factory, db_engine)
    clock = FakeClock(NOW)  # a new engine: nothing of the broken version is cached
    yield Casework(PathwaysEngine(uow=uow_factory, clock=clock), uow_factory, clock)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_query_admits_exactly_what_the_per_client_checks_admit(
        programme: Casework, uow_factory: UnitOfWorkFactory, seed: int) -> None:
    rng = random.Random(seed)
    others: list[int] = []
    with uow_factory() as uow:
        for number in range(70):
            _client(uow, rng, number, others)
        uow.commit()
    with uow_factory(read_only=True) as uow:
        every = {c.id: c.name.lower() for c in uow.clients.list()}
    queries = (*QUERIES, str(rng.choice(list(every))))
    admitted_somewhere = 0
    for user in _users():
        allowed = _old_answer(programme, user, "")
        admitted_somewhere += len(allowed)
        for query in queries:
            wanted = query.strip().lower()
            old = [c for c in allowed if not wanted or wanted in every[c] or wanted == str(c)]
            new = [c.id for c in programme.clients(user, query, limit=1000)]
            assert new == old, (user.username, query)
        paged = [c.id for start in range(0, len(allowed) + 7, 7)
                 for c in programme.clients(user, "", limit=7, offset=start)]
        assert paged == allowed, user.username
        # a search's page is its matches in order, the rule checked until the page is full
        smiths = [c for c in allowed if "smith" in every[c]]
        paged = [c.id for start in range(0, len(smiths) + 3, 3)
                 for c in programme.clients(user, "Smith", limit=3, offset=start)]
        assert paged == smiths, user.username
    assert 0 < admitted_somewhere < len(every) * len(_users())  # neither none nor all


def test_a_query_checked_by_hand_the_old_way_too(
        programme: Casework, uow_factory: UnitOfWorkFactory) -> None:
    """The old answer itself is spot-checked, so the property above cannot pass by both
    sides being empty or wrong alike: a client b created, one with programme consent, one
    whose only case was started under break-glass, and one referred from that case."""
    with uow_factory() as uow:
        made = uow.clients.add(Client(None, "Made By B", {}, NOW)).id
        consented = uow.clients.add(Client(None, "Consented", {}, NOW)).id
        glass = uow.clients.add(Client(None, "Glass", {}, NOW)).id
        for cid, action, org, detail in ((made, "create_client", "b", {}),):
            uow.access_log.add(AccessEntry(None, NOW, "x", org, cid, action, None, detail))
        uow.consents.add(Consent(None, consented, True, "programme", "p", "x", NOW,
                                 NOW.date()))
        first = uow.cases.add(CaseRecord(None, "gamma", 1, glass, "active", {})).id
        uow.access_log.add(AccessEntry(None, NOW, "x", "b", glass, "start_case",
                                       "urgent and needed now", {"case": first}))
        uow.cases.add(CaseRecord(None, "alpha", 1, glass, "active", {},
                                 data={"referral": {"from_case": first}}))
        # referred from a case that is referred from break-glass but comes after it: the
        # engine follows referrals in the order of case ids, so this one still counts
        forward = uow.clients.add(Client(None, "Forward", {}, NOW)).id
        start = uow.cases.add(CaseRecord(None, "gamma", 1, forward, "active", {})).id
        uow.access_log.add(AccessEntry(None, NOW, "x", "b", forward, "start_case", None,
                                       {"case": start, "break_glass": True}))
        early = uow.cases.add(CaseRecord(None, "alpha", 1, forward, "active", {}))
        late = uow.cases.add(CaseRecord(None, "alpha", 1, forward, "active", {},
                                        data={"referral": {"from_case": start}})).id
        early.data = {"referral": {"from_case": late}}
        uow.cases.save(early, early.revision)
        uow.commit()
    b = User(id=None, username="b", name="B", organisation="b", role="caseworker")
    assert _old_answer(programme, b, "") == [consented, forward, made]
    assert [c.id for c in programme.clients(b, "")] == [consented, forward, made]
    assert [c.id for c in programme.clients(replace(b, role="admin"), "")] == [
        consented, forward, glass, made]
