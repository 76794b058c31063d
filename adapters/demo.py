"""A demo programme to try Pathways with: the Peterborough One Service.

Four providers (St Giles Trust, Ormiston Families, SOVA, Mind), the commissioner, demo users
for every role, and about 100 clients at different points of their pathways, all made through
the same services the web and CLI use, so every step is on the event log. Seeding is
deterministic (a fixed random seed) and happens once per database.
"""

from __future__ import annotations

import random
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.bootstrap import Application
from engine.errors import EngineError

# Demo only: printed by `make run`; never use the demo for real data.
DEMO_PASSWORD = "pathways-demo"  # noqa: S105

ORGANISATIONS = {
    "st_giles_trust": "St Giles Trust",
    "ormiston_families": "Ormiston Families",
    "sova": "SOVA",
    "mind": "Mind",
    "one_service": "One Service (programme office)",
    "commissioner": "Ministry of Justice (commissioner)",
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    organisation: str
    role: str
    pathway_roles: tuple[str, ...] = ()


USERS = (
    DemoUser("caseworker", "Casey Walker", "st_giles_trust", "caseworker"),
    DemoUser("gateworker", "Gail Gates", "st_giles_trust", "caseworker", ("gate_worker",)),
    DemoUser("teamlead", "Terry Lead", "st_giles_trust", "team_lead"),
    DemoUser("family", "Fran Ormiston", "ormiston_families", "caseworker"),
    DemoUser("mentor", "Sam Sova", "sova", "caseworker"),
    DemoUser("mind", "Mo Mind", "mind", "caseworker"),
    DemoUser("designer", "Dee Signer", "one_service", "designer"),
    DemoUser("commissioner", "Cam Missioner", "commissioner", "commissioner"),
    DemoUser("admin", "Ada Min", "one_service", "admin"),
)

FIRST_NAMES = ("Aaron", "Ben", "Callum", "Dean", "Ethan", "Frank", "Gary", "Harry", "Ian",
               "Jack", "Kyle", "Liam", "Mark", "Nathan", "Owen", "Paul", "Ryan", "Scott",
               "Tom", "Wayne")
LAST_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts",
              "Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Clarke")


@dataclass(frozen=True)
class SeedReport:
    created: bool
    users: list[DemoUser]
    clients: int
    cases: int


# Cases of the partner providers' own pathways, started as their referrals arrive, so that
# every demo caseworker signs in to work of their own (Ormiston Families, SOVA).
PARTNER_CASES = (("family_support", "family"), ("employment_support", "mentor"))
PARTNER_CASES_EACH = 4


class SeedClock:
    """The demo's clock while it seeds: set back to when each step happened, so the
    programme's activity spreads over the months before today (month-on-month views show
    something); never later than the real time."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def now(self) -> datetime:
        real = datetime.now(UTC)
        return real if self.at is None else min(self.at, real)


# Enough clients that the dashboard's main comparisons are not all suppressed by disclosure
# control (counts under 10 are hidden); small enough to seed in well under a minute.
DEMO_CLIENTS = 100


def seed_demo(application: Application, *, clients: int = DEMO_CLIENTS, seed: int = 2010
              ) -> SeedReport:
    """Create the demo programme unless it is there already (its admin user exists)."""
    accounts = application.accounts
    if any(u.username == "admin" for u in accounts.users()):
        return SeedReport(False, list(USERS), 0, 0)
    for org_id, name in ORGANISATIONS.items():
        accounts.add_organisation(org_id, name)
    for user in USERS:
        accounts.add_user(user.username, user.name, user.organisation, user.role,
                          DEMO_PASSWORD, user.pathway_roles)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    when = random.Random(seed + 1)  # noqa: S311 - the times, apart so the data stays the same
    engine = application.engine
    # a randomised trial of the two gate reception versions, as a commissioner would run it
    engine.set_allocation("gate_reception", "split", weights={1: 50, 2: 50},
                          seed=f"demo-{seed}", actor="commissioner")
    today = date.today()
    clock, real_clock = SeedClock(), engine.clock
    engine.clock = clock
    try:
        released = _seed_clients(application, clients, today, rng, when, clock)
        cases = clients + _seed_partner_cases(application, when, clock)
    finally:
        engine.clock = real_clock
    engine.fire_due_timers()  # what came due while the demo's past went by
    _seed_outcomes(application, released, today, rng)
    return SeedReport(True, list(USERS), clients, cases)


def _seed_clients(application: Application, clients: int, today: date, rng: random.Random,
                  when: random.Random, clock: SeedClock) -> list[tuple[int, date]]:
    """The clients, each with a gate reception case begun a week to a month before their
    release and taken some steps on, days apart; the ones released over a week ago."""
    engine = application.engine
    released: list[tuple[int, date]] = []
    for number in range(clients):
        release = today + timedelta(days=rng.randint(-60, 21))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        clock.at = _morning(release - timedelta(days=when.randint(7, 30)), when)
        client = engine.add_client(name, {"release_date": release.isoformat(),
                                           "demo_number": number + 1})
        assert client.id is not None
        if release < today - timedelta(days=7):
            released.append((client.id, release))
        view = engine.start_case("gate_reception", client.id, actor="caseworker")
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4, 5, 6, 8))):
            open_tasks = engine.list_tasks(case_id=view.case.id)
            if not open_tasks:
                break
            task = open_tasks[0]
            clock.at = clock.now() + timedelta(days=when.randint(1, 9),
                                               minutes=when.randint(10, 300))
            try:
                engine.complete_task(task.task.id, _answers(task.schema, rng),
                                     actor=_actor_for(task.task.role))
            except EngineError:
                break
    return released


def _seed_partner_cases(application: Application, when: random.Random,
                        clock: SeedClock) -> int:
    """Referrals the partner providers took on in the last weeks: a case of each one's own
    pathway for some of the clients, its first step or two done by their caseworker."""
    engine = application.engine
    clients = sorted(engine.clients(), key=lambda c: c.id or 0)
    started = 0
    for number, (pathway, worker) in enumerate(PARTNER_CASES):
        for client in clients[number::len(PARTNER_CASES) * 5][:PARTNER_CASES_EACH]:
            clock.at = _morning(date.today() - timedelta(days=when.randint(3, 40)), when)
            view = engine.start_case(pathway, client.id or 0, actor=worker)
            started += 1
            for _ in range(started % 2):  # every other one a step on
                open_tasks = engine.list_tasks(case_id=view.case.id)
                if not open_tasks:
                    break
                clock.at = clock.now() + timedelta(days=when.randint(1, 3))
                with suppress(EngineError):
                    engine.complete_task(open_tasks[0].task.id,
                                         _answers(open_tasks[0].schema, when), actor=worker)
    return started


def _morning(day: date, when: random.Random) -> datetime:
    """A working-hours time on day (UTC)."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(
        minutes=when.randint(0, 8 * 60))


def _seed_outcomes(application: Application, released: list[tuple[int, date]], today: date,
                   rng: random.Random) -> None:
    """Reconviction events for some released clients (as a police data extract would give
    them), imported through the same CSV import as real data, extracted today, and the
    comparison group's published rate. Cohort 2 is still recruiting and its people were
    released in the last weeks: the dashboard shows it interim, with no payment, as it
    must (issue 12, item 1)."""
    extracted = min(today, datetime.now(UTC).date())  # not after the import day (UTC)
    lines = ["client,offence_date,conviction_date"]
    for client_id, release in released:
        if rng.random() < 0.35:  # some reoffend, some more than once (events, not people)
            for _ in range(rng.choice((1, 1, 2, 3))):
                offence = release + timedelta(
                    days=rng.randint(1, max(1, (today - release).days - 2)))
                conviction = min(extracted, offence + timedelta(days=rng.randint(0, 20)))
                line = f"{client_id},{offence.isoformat()},{conviction.isoformat()}"
                if line not in lines:  # the same court day drawn twice is one event
                    lines.append(line)
    application.outcomes.import_csv("demo-reconvictions.csv",
                                    ("\n".join(lines) + "\n").encode(), "reconviction",
                                    actor="admin", extracted_on=extracted)
    application.outcomes.set_comparison_rates(
        "cohort 2", "reconviction", group_size=1000, per_100=155.0,
        source="demo: the Peterborough comparison rate (MoJ 2014)", actor="commissioner")


def _actor_for(role: str | None) -> str:
    return {"gate_worker": "gateworker", "mh_practitioner": "mind",
            "family_worker": "family", "employment_adviser": "mentor"}.get(role or "",
                                                                          "caseworker")


def _answers(schema: dict[str, Any] | None, rng: random.Random) -> dict[str, Any]:
    """Plausible answers to a form: every required field, some optional ones."""
    if not schema:
        return {}
    required = set(schema.get("required") or [])
    answers: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        conditional = spec.get("x-pathways-required-when-visible") \
            or spec.get("x-pathways-required-when")
        if name not in required and not conditional and rng.random() < 0.6:
            continue
        answers[name] = _value(name, spec, rng)
    return answers


def _value(name: str, spec: dict[str, Any], rng: random.Random) -> Any:
    kind = spec.get("type")
    if "enum" in spec:
        return rng.choice(spec["enum"])
    if kind == "boolean":
        # mostly engaged, as in the One Service: 70% yes
        return rng.random() < (0.3 if name.startswith("needs_") else 0.7)
    if kind == "integer":
        return rng.randint(int(spec.get("minimum", 0)), int(spec.get("maximum", 10)))
    if kind == "number":
        return round(rng.uniform(spec.get("minimum", 0), spec.get("maximum", 100)), 1)
    if kind == "array":
        options = spec.get("items", {}).get("enum", [])
        return rng.sample(options, k=min(len(options), rng.randint(1, 2)))
    if spec.get("format") == "date":
        return (date.today() - timedelta(days=rng.randint(0, 30))).isoformat()
    return rng.choice(("Seen today.", "Left a message.", "Going well.", "Needs a follow-up."))
