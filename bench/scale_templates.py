"""Real cases for the national-scale bench (bench/scale.py) to copy: every shipped pathway and
version, each run through the engine to every depth it reaches (0, 1, 2, ... tasks done, and
to its end), so that the copies stand at every step with real open tasks.

Each template is one client with its cases, made through the engine's own services
(add_client, start_case, complete_task with plausible answers, a consent recorded, half the
open tasks claimed by a demo user who may do them). While they are made, SpiffWorkflow's task
ids end in a fixed mark (MARK) so that bench.scale_build can give every copy ids of its own
with one text replace in SQL.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import SpiffWorkflow.task as spiff_task

from adapters import demo
from adapters.bootstrap import Application
from adapters.definition_files import publish_order, read_bundle
from engine.errors import EngineError

ROOT = FilePath(__file__).resolve().parents[1]
MARK = "b5c0b5c0b5c0"  # the last 12 hex digits of every template task id
MAX_DEPTH = 14  # tasks done in the deepest template of a pathway
PASSWORD = demo.DEMO_PASSWORD
SURNAMES = ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
            "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker",
            "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke",
            "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
            "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
            "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett",
            "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson",
            "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan",
            "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
            "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt",
            "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes",
            "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins",
            "Murray", "Dixon", "Harvey", "Smithson", "Goldsmith", "Smithers")
FIRST_NAMES = (*demo.FIRST_NAMES, "Amy", "Beth", "Chloe", "Daisy", "Emma", "Faye", "Grace",
               "Holly", "Isla", "Jade", "Kate", "Lucy", "Mia", "Nina")


@dataclass
class Templates:
    """What was built: template clients (by id), and the steps their open tasks are at."""

    clients: list[int] = field(default_factory=list)
    steps: dict[str, set[str]] = field(default_factory=dict)  # pathway -> steps reached
    user_tasks: dict[str, set[str]] = field(default_factory=dict)  # pathway -> all steps


@contextmanager
def marked_task_ids() -> Iterator[None]:
    """SpiffWorkflow's new task ids, while inside: a counter, then MARK."""
    counter = itertools.count(1)
    original = spiff_task.uuid4  # type: ignore[attr-defined]
    spiff_task.uuid4 = lambda: uuid.UUID(  # type: ignore[attr-defined]
        f"{next(counter):08x}-0000-4000-8000-{MARK}")
    try:
        yield
    finally:
        spiff_task.uuid4 = original  # type: ignore[attr-defined]


def publish_and_people(app: Application) -> None:
    """The shipped pathways, and the demo programme's organisations and users."""
    for path, note in publish_order(ROOT / "definitions"):
        files, main = read_bundle(path, known_pathways={"family_support",
                                                        "mental_health_referral"})
        app.engine.publish(files, main, note=note, unless_published=True)
    for org_id, name in demo.ORGANISATIONS.items():
        app.accounts.add_organisation(org_id, name)
    for user in demo.USERS:
        app.accounts.add_user(user.username, user.name, user.organisation, user.role,
                              PASSWORD, user.pathway_roles)


def build_templates(app: Application, seed: int = 17, trials: int = 24) -> Templates:
    """Every version of every shipped pathway: `trials` cases each run to their end with
    random answers (the paths found); then a template case for each step a path reached
    first, replayed to stand there, and one for each way a path ended."""
    publish_and_people(app)
    found = Templates()
    admin = app.accounts.get_user("admin")
    with marked_task_ids():
        for version in app.engine.versions():
            definition = app.engine.definition(version.pathway, version.number)
            found.user_tasks.setdefault(version.pathway, set()).update(definition.user_tasks)
            wanted: list[list[Step]] = []
            ends: set[str] = set()
            for trial in range(trials):
                rng = random.Random(f"{seed}-{version.pathway}-{version.number}-{trial}")
                path, status = _trial(app, version.pathway, version.number, rng)
                for depth, step_set in enumerate(path.open_steps):
                    new = step_set - found.steps.get(version.pathway, set())
                    if new or (depth == 0 and trial == 0):
                        found.steps.setdefault(version.pathway, set()).update(step_set)
                        wanted.append(path.done[:depth])
                if status not in ends:
                    ends.add(status)
                    wanted.append(path.done)
            for done in wanted:
                client_id = _replay(app, version.pathway, version.number, done, seed)
                if client_id is not None:
                    app.casework.record_consent(admin, client_id, True, "programme",
                                                "Taking part in the programme", None)
                    found.clients.append(client_id)
                    _claim_half(app, client_id, len(found.clients))
    return found


@dataclass(frozen=True)
class Step:
    """A task done on a path: its step, the answers and who gave them."""

    step: str
    answers: dict[str, Any]
    actor: str


@dataclass
class Path:
    done: list[Step] = field(default_factory=list)
    open_steps: list[set[str]] = field(default_factory=list)  # before each task done


def _trial(app: Application, pathway: str, version: int, rng: random.Random
           ) -> tuple[Path, str]:
    """A case run to its end (or MAX_DEPTH tasks) with random answers; its path and how it
    stopped."""
    engine = app.engine
    client = engine.add_client(_name(rng), _fields(rng))
    path = Path()
    try:
        view = engine.start_case(pathway, client.id or 0, version=version, actor="caseworker")
    except EngineError:
        return path, "not started"
    for _ in range(MAX_DEPTH):
        open_tasks = engine.list_tasks(case_id=view.case.id)
        if not open_tasks:
            break
        path.open_steps.append({t.task.step for t in open_tasks})
        task = open_tasks[rng.randrange(len(open_tasks))]
        answers = demo._answers(task.schema, rng)
        actor = demo._actor_for(task.task.role)
        try:
            engine.complete_task(task.task.id, answers, actor=actor)
        except EngineError:
            return path, "refused"
        path.done.append(Step(task.task.step, answers, actor))
    case = engine.get_case(view.case.id or 0).case
    return path, f"{case.status} {case.exit_reason}"


def _replay(app: Application, pathway: str, version: int, done: list[Step], seed: int
            ) -> int | None:
    """A new client with a case of the version that did the path's tasks; its id (None
    when the case went another way)."""
    engine = app.engine
    rng = random.Random(f"{seed}-{pathway}-{version}-{len(done)}")
    client = engine.add_client(_name(rng), _fields(rng))
    try:
        view = engine.start_case(pathway, client.id or 0, version=version, actor="caseworker")
    except EngineError:
        return None
    for step in done:
        task = next((t for t in engine.list_tasks(case_id=view.case.id)
                     if t.task.step == step.step), None)
        if task is None:
            return None
        try:
            engine.complete_task(task.task.id, step.answers, actor=step.actor)
        except EngineError:
            return None
    return client.id


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _fields(rng: random.Random) -> dict[str, Any]:
    return {"release_date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}


def _claim_half(app: Application, client_id: int, number: int) -> None:
    """Claim the open tasks of every other template for a demo user who may do them."""
    if number % 2:
        return
    for case in app.engine.list_cases():
        if case.client_id != client_id or case.id is None:
            continue
        for task in app.engine.list_tasks(case_id=case.id):
            user = app.accounts.get_user(demo._actor_for(task.task.role))
            with suppress(EngineError):  # a task this user may not do stays unassigned
                app.casework.claim(user, task.task.id)
