"""Who may use which route: every role (and nobody signed in) against every route, for a task
and a client of each organisation, with valid CSRF tokens; and every POST refused without one.

The programme (test_pages.build_world) is built once per database for this module; a route
that changes something works on a client and case made for that one request. A refusal must
change nothing, and a 403 or 404 must not show the client's name.

Expected statuses, by who asks (own/other: the organisation of the target task or client):

    route                          anon   own cw/tl   other cw/tl   designer/commiss.   admin
    GET  /                         302L   302         302           200                 302
    GET  /login                    200    302         302           302                 302
    POST /login (wrong password)   401    401         401           401                 401
    POST /logout                   302L   302L        302L          302L                302L
    GET  /health                   200    200         200           200                 200
    GET  /healthz, /readyz         200    200         200           200                 200
    GET  /metrics (from loopback)  200    200         200           200                 200
    GET  /inbox                    302L   200         200           403                 200
    GET  /tasks/T                  302L   200         404           404                 200
    POST /tasks/T (draft)          302L   302         404           404                 302
    POST /tasks/T (complete)       302L   302         404           404                 302
    POST /tasks/T (invalid data)   302L   422         404           404                 422
    POST /tasks/T/claim            302L   302         404           404                 302
    POST /tasks/T/unclaim          302L   302         404           404                 302
    POST /inbox/reassign           302L   cw 403 tl 302   cw 403 tl 302T 403            302
    POST /inbox/filters            302L   302         302           403                 302
    POST /inbox/filters/N/delete   302L   404         404           403                 404
    GET  /account                  302L   200         200           200                 200
    POST /account/digest           302L   302         302           403                 302
    GET  /clients/C                302L   200         403 (reason)  403                 200
    GET  /clients/C?reason=...     400    400         400           400                 400
    POST /clients/C/open (reason)  302L   302         302 (logged)  403                 302
    POST /clients/C/consents       302L   302         403           403                 302
    POST /clients/C/cases          302L   302         403           403                 302
    POST /clients/C/notes          302L   302         403           403                 302
    POST /cases/K/notes            302L   302         403           403                 302
    POST /cases/K/close            302L   302         403           403                 302
    GET  /clients/C/export         302L   403         403           403                 200
    POST /clients/C/attachments    302L   302         403           403                 302
    POST /clients/C/attach (opened)302L   302         403           403                 302
    GET  /attachments/A            302L   200         403 (reason)  403                 200
    GET  /attachments/A (opened)   302L   200         200           403                 200
    POST /attachments/A/remove     302L   302         403           403                 302
    GET  /cases/K[/diagram.bpmn]   302L   200         403 (reason)  403                 200
    GET  /cases/K (opened)         302L   200         200           403                 200
    GET  /cases/K?reason=...       400    400         400           400                 400
    GET  /admin/users              302L   403         403           403                 200
    POST /admin/users/U/signout    302L   403         403           403                 302
    GET  /admin/access             302L   403         403           403                 200
    GET  /admin/access.csv         302L   403         403           403                 200
    GET  /admin/new-user           302L   403         403           403                 200
    GET  /admin/users/U            302L   403         403           403                 200
    POST /admin/new-user (bad)     302L   403         403           403                 422
    POST /admin/users/U/role       302L   403         403           403                 302
    POST /admin/users/U/reactivate 302L   403         403           403                 302
    POST /admin/users/U/tokens     302L   403         403           403                 200
    POST /admin/users/X/deactivate 302L   403         403           403                 404
    POST /admin/users/X/password   302L   403         403           403                 404
    POST /admin/users/U/tokens/N/revoke  302L 403     403           403                 404
    GET  /admin/organisations      302L   403         403           403                 200
    POST /admin/organisations (bad) 302L  403         403           403                 422
    POST /admin/organisations/O/rename 302L 403       403           403                 302
    GET  /admin/incidents          302L   cw 403 tl 200   cw 403 tl 200  403            200
    GET  /pathways, /pathways/P    302L   403         403           200                 200
    GET  /pathways/P/vN[.bpmn]     302L   403         403           200                 200
    GET  /pathways/P/compare       302L   403         403           200                 200
    POST /pathways/P/allocation    302L   403         403           des 302 com 403     302
    GET  /pathways/P/migrate[ions] 302L   403         403           des 200 com 403     200
    POST /pathways/P/migrate       302L   403         403           des 400 com 403     400
    GET  /editor, /pathways/P/edit 302L   403         403           des 200 com 403     200
    POST /editor/publish|upload    302L   403         403           des 422 com 403     422
    POST /editor/draft/discard     302L   403         403           des 302 com 403     302
    POST /editor/check, /draft     JSON: see tests/web/test_designer_pages.py
    POST /admin/incidents/K/retry  302L   cw 403 tl 302   cw 403 tl 404  403            302
    POST /admin/incidents/K/cancel 302L   cw 403 tl 302   cw 403 tl 404  403            302

A reason never goes in an address (400, before signing in too). Break-glass is read-only: after
the user has opened the record with a reason (routes marked "opened"), recording or
withdrawing a consent, starting a case of their own organisation's pathway, drafting,
completing, claiming and adding a document are refused exactly as without it (other cw/tl:
403 or 404); reading a document is not. A is a document the target organisation's caseworker
added to the target client (a fresh one for a removal).

The account routes change nothing the other rows rely on: U is om_designer given the role
and state it has and a token it does not use, X a username nobody has, N a token nobody has,
O an organisation renamed to its own name; a bad form is refused (422) once allowed.
(302L: a redirect to /login. 302T: back to the inbox told what was refused and why, nothing
changed: a bulk reassignment does what it can and lists the rest, issue 18.) K is a case of
the target organisation's own wait pathway in
`error` (tests/web/test_incidents.py), retried with the date it lacked. The task is unclaimed
before a claim and claimed by the own organisation's caseworker before an unclaim or a
reassignment.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from adapters.attachment_store import AttachmentSettings
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from tests.conftest import PostgresTestDatabase
from tests.web.conftest import CHEAP_HASHER, PASSWORD, Site, csrf_token, force_sign_in
from tests.web.test_incidents import in_error, publish_waits
from tests.web.test_pages import (
    NEEDS_ASSESSMENT,
    ORGANISATIONS,
    PATHWAY_OF,
    ROLES,
    World,
    build_world,
)
from web import create_app
from web.security import limiter

ANONYMOUS = "anonymous"
USERS = (ANONYMOUS, *(f"{org}_{role}" for org in ORGANISATIONS for role in ROLES))
TARGETS = tuple(ORGANISATIONS)  # whose task or client is asked for: sg or om
LOGIN = "login"  # expected: a redirect to the sign-in page
TOLD = "told"  # expected: a redirect back, told what was refused, nothing changed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[World]:
    """The programme, once per database for the whole module."""
    schema: str | None = None
    postgres: PostgresTestDatabase | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'pathways.sqlite3'}"
    else:
        postgres = request.getfixturevalue("postgres_database")
        assert postgres is not None
        schema = postgres.create_schema()
        url = postgres.schema_url(schema)
    settings = Settings(database_url=url, secret_key="test-secret",
                        definitions_dir=Path("no-definitions"),
                        attachments=AttachmentSettings(
                            folder=tmp_path_factory.mktemp("matrix-files")))
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    try:
        world = build_world(Site(app, application))
        publish_waits(world)
        _complete_a_task(world)
        yield world
    finally:
        application.close()
        if postgres is not None and schema is not None:
            postgres.drop_schema(schema)


def _complete_a_task(world: World) -> None:
    """A task completed before any route is tried, so the activity chart has figures to draw
    whichever routes ran first (a viewer gets 200, not "no figures yet")."""
    done = fresh(world, "sg", claimed=True)
    answers = {k: v == "true" if v in ("true", "false") else v
               for k, v in NEEDS_ASSESSMENT.items()}  # the form's words, typed
    world.application.casework.complete(world.user("sg_caseworker"), done.task_id, answers)


def session_for(world: World, username: str) -> tuple[FlaskClient, str]:
    """A test client signed in as username (ANONYMOUS: nobody) and a valid CSRF token.

    The session is started directly, as the sign-in form would, so that hundreds of
    requests do not run into the sign-in rate limits; tests/web/test_auth.py covers the form.
    """
    client = world.app_site.client()
    token = csrf_token(client.get("/login").text)
    if username != ANONYMOUS:
        force_sign_in(client, world.app_site, username)
    return client, token


def kind(username: str, target: str) -> str:
    """Who the user is to the target organisation: anonymous, own_caseworker,
    other_team_lead, designer, commissioner, admin, ..."""
    if username == ANONYMOUS:
        return ANONYMOUS
    org, role = username.split("_", 1)
    if role in ("caseworker", "team_lead"):
        return f"{'own' if org == target else 'other'}_{role}"
    return role


# -- the target of a request ------------------------------------------------------------------


@dataclass
class Target:
    client_id: int
    task_id: str
    name: str
    org: str
    case_id: int = 0  # its case (an incident target: its case in error)
    attachment_id: int = 0  # a document on the client's record (Route.attached)


def fresh(world: World, org: str, *, claimed: bool = False) -> Target:
    """A client of the organisation with a case just started (its task claimed by the
    organisation's caseworker when asked)."""
    number = len(world.clients) + 1
    name = f"Matrix Client{number:03d}"
    client_id, task_id = world.new_client(org, name)
    world.clients[f"matrix{number}"] = client_id
    if claimed:
        world.application.casework.claim(world.user(f"{org}_caseworker"), task_id)
    task = world.open_task(task_id)
    assert task is not None
    return Target(client_id, task_id, name, org, task.case_id)


def incident(world: World, org: str) -> Target:
    """A client of the organisation whose case of its wait pathway is in error."""
    number = len(world.clients) + 1
    name = f"Matrix Incident{number:03d}"
    client_id, case_id = in_error(world, org, name)
    world.clients[f"matrix{number}"] = client_id
    return Target(client_id, "", name, org, case_id)


def target_for(world: World, route: Route, org: str) -> Target:
    if route.incident:
        return incident(world, org)
    target = shared_target(world, org) if route.shared else fresh(world, org,
                                                                  claimed=route.claimed)
    if route.attached:
        target.attachment_id = attach(world, target)
    return target


def attach(world: World, target: Target) -> int:
    """A document the target organisation's caseworker adds to the target client."""
    added = world.application.attachments.add(
        world.user(f"{target.org}_caseworker"), target.client_id, "consent.pdf", PDF)
    assert added.id is not None
    return added.id


def shared_target(world: World, org: str) -> Target:
    first = "aaron" if org == "sg" else "cara"
    with world.uow() as uow:
        (case,) = uow.cases.list(client_id=world.clients[first])
    return Target(world.clients[first], world.tasks[first],
                  "Aaron Smith" if org == "sg" else "Cara Green", org, case.id or 0)


def snapshot(world: World, target: Target) -> tuple[Any, ...]:
    """Everything a POST to a casework route could change about the target."""
    with world.uow() as uow:
        cases = uow.cases.list(client_id=target.client_id)
        tasks = sorted((t.id, t.assignee) for case in cases
                       for t in uow.inbox.list(case_id=case.id))
        drafts = sorted((d.task_id, d.username) for case in cases
                        for d in uow.drafts.for_case(case.id))
        consents = len(uow.consents.for_client(target.client_id))
        notes = len(uow.notes.for_client(target.client_id))
        client = uow.clients.get(target.client_id)
        statuses = sorted((c.id, c.status) for c in cases)
        documents = sorted((a.id, a.removed_at is None)
                           for a in uow.attachments.for_client(target.client_id))
    return (tasks, drafts, consents, notes, len(cases), statuses,
            client.fields if client else None, documents)


def completion(org: str, valid: bool = True) -> dict[str, Any]:
    if org == "sg":
        data = dict(NEEDS_ASSESSMENT)
        if not valid:
            data["needs_benefits"] = "maybe"
        return data
    return {"phone": "01733 999999",
            "first_contact": date.today().isoformat() if valid else "yesterday"}


# -- the routes ------------------------------------------------------------------------------

CASE_STAFF = ("own_caseworker", "own_team_lead", "other_caseworker", "other_team_lead")
EVERYONE = (ANONYMOUS, *CASE_STAFF, "designer", "commissioner", "admin")


def statuses(anonymous: int | str = LOGIN, *, own: int | str, other: int | str,
             designer: int | str, admin: int | str, **overrides: int | str
             ) -> dict[str, int | str]:
    table: dict[str, int | str] = {
        ANONYMOUS: anonymous, "own_caseworker": own, "own_team_lead": own,
        "other_caseworker": other, "other_team_lead": other, "designer": designer,
        "commissioner": designer, "admin": admin}
    table.update(overrides)
    return table


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[Target], str]
    expected: dict[str, int | str]
    data: Callable[[Target, str], dict[str, Any]] = lambda target, user: {}
    shared: bool = False  # reads only: use the shared client; else a fresh one
    claimed: bool = False  # the fresh task is claimed by the own caseworker first
    per_target: bool = True  # False: the route has no task or client in it
    changes: bool = False  # an allowed request changes the target
    location: str | None = None  # where an allowed redirect goes: a regex
    query: dict[str, str] = field(default_factory=dict)
    opened: bool = False  # the user opens the target's record with a reason first
    incident: bool = False  # the target is a case in error (Target.case_id)
    attached: bool = False  # the target client has a document (Target.attachment_id)


REASON = "Client walked into our office asking for help"
NOTE = {"kind": "phone_call", "contact_on": date.today().isoformat(), "minutes": "10",
        "text": "Rang to check in"}


PDF = b"%PDF-1.4\n%%EOF\n"


def upload_route(*, opened: bool = False) -> Route:
    """POST /clients/C/attachments: a document added by the client's own staff and admins;
    never under break-glass (`opened`)."""
    return Route(
        "POST", lambda t: f"/clients/{t.client_id}/attachments", changes=True, opened=opened,
        location=r"/clients/\d+#documents",
        data=lambda t, user: {"file": (io.BytesIO(PDF), "consent.pdf")},
        expected=statuses(own=302, other=403, designer=403, admin=302))


def own_pathway(user: str) -> str:
    """The pathway of the user's own organisation (gate_reception for anyone else)."""
    return PATHWAY_OF.get(user.split("_", 1)[0], "gate_reception")


def consent_route(scope: str, given: str, purpose: str, *, opened: bool = False) -> Route:
    """POST /clients/C/consents, allowed to the client's own staff and admins; `opened`: the
    user opened the record with a reason first, and gives the same reason with the consent."""
    reason = {"reason": REASON} if opened else {}
    return Route(
        "POST", lambda t: f"/clients/{t.client_id}/consents", changes=True, opened=opened,
        location=r"/clients/\d+",
        data=lambda t, user: {"scope": scope, "given": given, "purpose": purpose, **reason},
        expected=statuses(own=302, other=403, designer=403, admin=302))


def dashboard_route(path: str, *, of_gate_reception: bool = False, viewer: int = 200) -> Route:
    """A read of the dashboard's (for the gate_reception pathway, if said): what designers,
    commissioners and admins get is `viewer`, case staff are refused."""
    return Route("GET", lambda t: path, shared=True, per_target=False,
                 query={"pathway": "gate_reception"} if of_gate_reception else {},
                 expected=statuses(own=403, other=403, designer=viewer, admin=viewer))


ROUTES: dict[str, Route] = {
    "home": Route("GET", lambda t: "/", shared=True, per_target=False, expected=statuses(
        own=302, other=302, designer=302, admin=302)),
    "login_page": Route("GET", lambda t: "/login", shared=True, per_target=False,
                        expected=statuses(200, own=302, other=302, designer=302, admin=302)),
    "login_wrong_password": Route(
        "POST", lambda t: "/login", shared=True, per_target=False,
        data=lambda t, user: {"username": user, "password": "not the password"},
        expected=statuses(401, own=401, other=401, designer=401, admin=401)),
    "logout": Route("POST", lambda t: "/logout", shared=True, per_target=False,
                    expected=statuses(own=LOGIN, other=LOGIN, designer=LOGIN, admin=LOGIN)),
    "health": Route("GET", lambda t: "/health", shared=True, per_target=False,
                    expected=statuses(200, own=200, other=200, designer=200, admin=200)),
    "healthz": Route("GET", lambda t: "/healthz", shared=True, per_target=False,
                     expected=statuses(200, own=200, other=200, designer=200, admin=200)),
    "readyz": Route("GET", lambda t: "/readyz", shared=True, per_target=False,
                    expected=statuses(200, own=200, other=200, designer=200, admin=200)),
    # from elsewhere, or with PATHWAYS_METRICS_TOKEN set: tests/web/test_observability.py
    "metrics": Route("GET", lambda t: "/metrics", shared=True, per_target=False,
                     expected=statuses(200, own=200, other=200, designer=200, admin=200)),
    "inbox": Route("GET", lambda t: "/inbox", shared=True, per_target=False,
                   expected=statuses(own=200, other=200, designer=403, admin=200)),
    # saved inbox filters: each user's own (whose filter is whose: test_inbox_filters.py);
    # deleting one the user does not have is "not found" once allowed
    "save_filter": Route(
        "POST", lambda t: "/inbox/filters", per_target=False, location=r"/inbox\?scope=mine",
        data=lambda t, user: {"name": "Mine", "query": "scope=mine"},
        expected=statuses(own=302, other=302, designer=403, admin=302)),
    "delete_filter": Route(
        "POST", lambda t: "/inbox/filters/999999/delete", shared=True, per_target=False,
        expected=statuses(own=404, other=404, designer=403, admin=404)),
    # the user's own page and digest choice (issue 18, item 10): only ever their own
    "account": Route("GET", lambda t: "/account", shared=True, per_target=False,
                     expected=statuses(own=200, other=200, designer=200, admin=200)),
    "account_digest": Route(
        "POST", lambda t: "/account/digest", per_target=False, location=r"/account",
        data=lambda t, user: {"digest": "on"},
        expected=statuses(own=302, other=302, designer=403, admin=302)),
    "task_page": Route("GET", lambda t: f"/tasks/{t.task_id}", shared=True,
                       expected=statuses(own=200, other=404, designer=404, admin=200)),
    "task_draft": Route(
        "POST", lambda t: f"/tasks/{t.task_id}", changes=True, location=r"/tasks/[\w-]+",
        data=lambda t, user: {"action": "draft", "notes": "draft notes"} if t.org == "sg"
        else {"action": "draft", "phone": "01733 111111"},
        expected=statuses(own=302, other=404, designer=404, admin=302)),
    "task_complete": Route(
        "POST", lambda t: f"/tasks/{t.task_id}", changes=True,
        location=r"/tasks/[\w-]+|/inbox",
        data=lambda t, user: {"action": "complete", **completion(t.org)},
        expected=statuses(own=302, other=404, designer=404, admin=302)),
    "task_complete_invalid": Route(
        "POST", lambda t: f"/tasks/{t.task_id}",
        data=lambda t, user: {"action": "complete", **completion(t.org, valid=False)},
        expected=statuses(own=422, other=404, designer=404, admin=422)),
    "claim": Route("POST", lambda t: f"/tasks/{t.task_id}/claim", changes=True,
                   location=r"/tasks/[\w-]+",
                   expected=statuses(own=302, other=404, designer=404, admin=302)),
    "unclaim": Route("POST", lambda t: f"/tasks/{t.task_id}/unclaim", claimed=True,
                     changes=True, location=r"/inbox",
                     expected=statuses(own=302, other=404, designer=404, admin=302)),
    "reassign": Route(
        "POST", lambda t: "/inbox/reassign", claimed=True, changes=True,
        location=r"/inbox\?scope=role", data=lambda t, user: {"task": t.task_id, "to": ""},
        expected=statuses(own=302, other=TOLD, designer=403, admin=302, own_caseworker=403,
                          other_caseworker=403)),
    "client_page": Route("GET", lambda t: f"/clients/{t.client_id}", shared=True,
                         expected=statuses(own=200, other=403, designer=403, admin=200)),
    # a case: its client record's rules (K: the target client's case)
    "case_page": Route("GET", lambda t: f"/cases/{t.case_id}", shared=True,
                       expected=statuses(own=200, other=403, designer=403, admin=200)),
    "case_diagram": Route("GET", lambda t: f"/cases/{t.case_id}/diagram.bpmn", shared=True,
                          expected=statuses(own=200, other=403, designer=403, admin=200)),
    "case_page_under_break_glass": Route(
        "GET", lambda t: f"/cases/{t.case_id}", opened=True,
        expected=statuses(own=200, other=200, designer=403, admin=200)),
    "case_page_with_reason": Route(
        "GET", lambda t: f"/cases/{t.case_id}", shared=True, query={"reason": REASON},
        expected=statuses(400, own=400, other=400, designer=400, admin=400)),
    "client_page_with_reason": Route(
        "GET", lambda t: f"/clients/{t.client_id}", shared=True, query={"reason": REASON},
        expected=statuses(400, own=400, other=400, designer=400, admin=400)),
    "record_consent": consent_route("programme", "yes", "Sharing"),
    "start_case": Route(
        "POST", lambda t: f"/clients/{t.client_id}/cases", changes=True,
        location=r"/tasks/[\w-]+|/clients/\d+",
        # the client has an open case of it already: confirmed, so only access decides
        data=lambda t, user: {"pathway": PATHWAY_OF[t.org], "duplicate": "start_another"},
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    "consent_under_break_glass": consent_route("health", "yes", "Sharing", opened=True),
    "withdraw_under_break_glass": consent_route("programme", "no", "Withdrawn", opened=True),
    "start_case_under_break_glass": Route(
        "POST", lambda t: f"/clients/{t.client_id}/cases", changes=True, opened=True,
        location=r"/tasks/[\w-]+|/clients/\d+",
        data=lambda t, user: {"pathway": own_pathway(user), "reason": REASON,
                              "duplicate": "start_another"},
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    "draft_under_break_glass": Route(
        "POST", lambda t: f"/tasks/{t.task_id}", changes=True, opened=True,
        location=r"/tasks/[\w-]+",
        data=lambda t, user: {"action": "draft", "notes": "draft notes"} if t.org == "sg"
        else {"action": "draft", "phone": "01733 111111"},
        expected=statuses(own=302, other=404, designer=404, admin=302)),
    "complete_under_break_glass": Route(
        "POST", lambda t: f"/tasks/{t.task_id}", changes=True, opened=True,
        location=r"/tasks/[\w-]+|/inbox",
        data=lambda t, user: {"action": "complete", **completion(t.org)},
        expected=statuses(own=302, other=404, designer=404, admin=302)),
    "claim_under_break_glass": Route(
        "POST", lambda t: f"/tasks/{t.task_id}/claim", changes=True, opened=True,
        location=r"/tasks/[\w-]+",
        expected=statuses(own=302, other=404, designer=404, admin=302)),
    "admin_access": Route("GET", lambda t: "/admin/access", shared=True, per_target=False,
                          query={"break_glass": "1"},
                          expected=statuses(own=403, other=403, designer=403, admin=200)),
    "export": Route("GET", lambda t: f"/clients/{t.client_id}/export", shared=True,
                    expected=statuses(own=403, other=403, designer=403, admin=200)),
    "open_with_reason": Route(  # a fresh client: the grant must not open the shared ones
        "POST", lambda t: f"/clients/{t.client_id}/open",
        location=r"/clients/\d+",
        data=lambda t, user: {"reason": REASON},
        expected=statuses(own=302, other=302, designer=403, admin=302)),
    "clients_list": Route("GET", lambda t: "/clients", shared=True, per_target=False,
                          expected=statuses(own=200, other=200, designer=403, admin=200)),
    "dashboard": dashboard_route("/dashboard"),
    "dashboard_csv": dashboard_route("/dashboard/activity.csv", of_gate_reception=True),
    "dashboard_chart": dashboard_route("/dashboard/activity.svg", of_gate_reception=True),
    # the forest plot of the decisions: the matrix's world records no outcome, so a viewer
    # gets through to "no figures for that chart yet" (404); anyone else is refused first
    "forest_chart": dashboard_route("/dashboard/forest.svg", of_gate_reception=True,
                                    viewer=404),
    "payment_statement": dashboard_route("/dashboard/statement"),
    # The matrix's world has no programme file, so a viewer gets through to "no statement
    # to chart yet" (404); anyone else is refused before that.
    "cohort_chart": dashboard_route("/dashboard/cohorts.svg", viewer=404),
    # the designer's pages: definitions and counts of cases, never a client's record
    "pathways": dashboard_route("/pathways"),
    "pathway_page": dashboard_route("/pathways/gate_reception"),
    "pathway_not_published": dashboard_route("/pathways/no_such_pathway", viewer=404),
    "pathway_version": dashboard_route("/pathways/gate_reception/v1"),
    "pathway_version_bpmn": dashboard_route("/pathways/gate_reception/v1.bpmn"),
    "pathway_version_counts": dashboard_route("/pathways/gate_reception/v1/counts.json"),
    "compare_versions": dashboard_route("/pathways/gate_reception/compare"),
    # how new cases get a version: designers and admins change it, commissioners only read
    "set_allocation": Route(
        "POST", lambda t: "/pathways/gate_reception/allocation", shared=True,
        per_target=False, location=r"/pathways/gate_reception$",
        data=lambda t, user: {"kind": "latest"},
        expected=statuses(own=403, other=403, designer=302, admin=302, commissioner=403)),
    # moving running cases: designers and admins (the matrix's world has one version of
    # gate_reception, so a migration to it is refused as a bad request, 400, once allowed)
    "migrate_page": Route("GET", lambda t: "/pathways/gate_reception/migrate", shared=True,
                          per_target=False, expected=statuses(
                              own=403, other=403, designer=200, admin=200, commissioner=403)),
    "migrate_run": Route("POST", lambda t: "/pathways/gate_reception/migrate", shared=True,
                         per_target=False, data=lambda t, user: {"from": "1", "to": "1"},
                         expected=statuses(own=403, other=403, designer=400, admin=400,
                                           commissioner=403)),
    "migrations": Route("GET", lambda t: "/pathways/gate_reception/migrations", shared=True,
                        per_target=False, expected=statuses(
                            own=403, other=403, designer=200, admin=200, commissioner=403)),
    "migration": Route("GET", lambda t: "/pathways/gate_reception/migrations/999999",
                       shared=True, per_target=False, expected=statuses(
                           own=403, other=403, designer=404, admin=404, commissioner=403)),
    "migration_progress": Route(
        "GET", lambda t: "/pathways/gate_reception/migrations/999999/progress.json",
        shared=True, per_target=False, expected=statuses(
            own=403, other=403, designer=404, admin=404, commissioner=403)),
    # an unknown step of a published version: nothing to retry, back to the version page
    "retry_step": Route(
        "POST", lambda t: "/pathways/gate_reception/v1/steps/no_such_step/retry", shared=True,
        per_target=False, expected=statuses(own=403, other=403, designer=302, admin=302,
                                            commissioner=403)),
    "migration_revert": Route(
        "POST", lambda t: "/pathways/gate_reception/migrations/999999/revert", shared=True,
        per_target=False, expected=statuses(own=403, other=403, designer=404, admin=404,
                                            commissioner=403)),
    # writing and publishing: designers and admins; an empty text or note is refused (422)
    # once allowed, so the matrix publishes nothing
    "editor_new": Route("GET", lambda t: "/editor", shared=True, per_target=False,
                        expected=statuses(own=403, other=403, designer=200, admin=200,
                                          commissioner=403)),
    "editor_edit": Route("GET", lambda t: "/pathways/gate_reception/edit", shared=True,
                         per_target=False, expected=statuses(
                             own=403, other=403, designer=200, admin=200, commissioner=403)),
    "editor_publish": Route("POST", lambda t: "/editor/publish", shared=True,
                            per_target=False, data=lambda t, user: {"source": "", "note": ""},
                            expected=statuses(own=403, other=403, designer=422, admin=422,
                                              commissioner=403)),
    "editor_upload": Route("POST", lambda t: "/editor/upload", shared=True, per_target=False,
                           data=lambda t, user: {"note": ""},
                           expected=statuses(own=403, other=403, designer=422, admin=422,
                                             commissioner=403)),
    "editor_discard_draft": Route("POST", lambda t: "/editor/draft/discard", shared=True,
                                  per_target=False, data=lambda t, user: {"name": ""},
                                  location=r"/editor$", expected=statuses(
                                      own=403, other=403, designer=302, admin=302,
                                      commissioner=403)),
    "admin_users": Route("GET", lambda t: "/admin/users", shared=True, per_target=False,
                         expected=statuses(own=403, other=403, designer=403, admin=200)),
    "admin_sign_out_everywhere": Route(
        "POST", lambda t: "/admin/users/om_designer/signout", shared=True, per_target=False,
        expected=statuses(own=403, other=403, designer=403, admin=302)),
    **{name: Route("GET", lambda t, p=path: p, shared=True, per_target=False,
                   expected=statuses(own=403, other=403, designer=403, admin=200))
       for name, path in (("admin_access_csv", "/admin/access.csv"),
                          ("admin_new_user", "/admin/new-user"),
                          ("admin_user", "/admin/users/om_designer"),
                          ("admin_organisations", "/admin/organisations"))},
    **{name: Route("POST", lambda t, p=path: p, shared=True, per_target=False,
                   data=lambda t, user, d=data: dict(d),
                   expected=statuses(own=403, other=403, designer=403, admin=status))
       for name, path, data, status in (
           ("admin_add_user_invalid", "/admin/new-user",
            {"username": "", "name": "", "organisation": "", "role": ""}, 422),
           ("admin_change_role", "/admin/users/om_designer/role", {"role": "designer"}, 302),
           ("admin_reactivate", "/admin/users/om_designer/reactivate", {}, 302),
           ("admin_issue_token", "/admin/users/om_designer/tokens", {"name": "matrix"}, 200),
           ("admin_deactivate", "/admin/users/nobody_here/deactivate", {}, 404),
           ("admin_reset_password", "/admin/users/nobody_here/password", {}, 404),
           ("admin_revoke_token", "/admin/users/om_designer/tokens/999999/revoke", {}, 404),
           ("admin_add_organisation_invalid", "/admin/organisations",
            {"id": "", "name": ""}, 422),
           ("admin_rename_organisation", "/admin/organisations/st_giles_trust/rename",
            {"name": "St Giles Trust"}, 302))},
    "incidents": Route("GET", lambda t: "/admin/incidents", shared=True, per_target=False,
                       expected=statuses(own=200, other=200, designer=403, admin=200,
                                         own_caseworker=403, other_caseworker=403)),
    "retry_incident": Route(
        "POST", lambda t: f"/admin/incidents/{t.case_id}/retry", incident=True, changes=True,
        location=r"/admin/incidents",
        data=lambda t, user: {"version": "1",
                              "data": '{"client": {"release_date": "2030-02-01"}}'},
        expected=statuses(own=302, other=404, designer=403, admin=302, own_caseworker=403,
                          other_caseworker=403)),
    "cancel_incident": Route(
        "POST", lambda t: f"/admin/incidents/{t.case_id}/cancel", incident=True, changes=True,
        location=r"/admin/incidents", data=lambda t, user: {"reason": "Moved away"},
        expected=statuses(own=302, other=404, designer=403, admin=302, own_caseworker=403,
                          other_caseworker=403)),
    # contacts and notes (issue 18, item 2): a write to the record, as a consent is; under
    # break-glass (opened) refused exactly as without it
    "client_note": Route(
        "POST", lambda t: f"/clients/{t.client_id}/notes", changes=True,
        location=r"/clients/\d+#notes", data=lambda t, user: dict(NOTE),
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    "client_note_under_break_glass": Route(
        "POST", lambda t: f"/clients/{t.client_id}/notes", changes=True, opened=True,
        location=r"/clients/\d+#notes", data=lambda t, user: dict(NOTE),
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    "case_note": Route(
        "POST", lambda t: f"/cases/{t.case_id}/notes", changes=True,
        location=r"/cases/\d+#notes", data=lambda t, user: dict(NOTE),
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    # closing a case (item 3): the organisation holding it (its pathway's owner) and admins
    "close_case": Route(
        "POST", lambda t: f"/cases/{t.case_id}/close", changes=True,
        location=r"/cases/\d+", data=lambda t, user: {"reason": "Moved out of the area"},
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    # documents on the record: added and removed as consents are recorded, read as the
    # record is (a break-glass reason opens reading, never writing)
    "upload_attachment": upload_route(),
    "upload_attachment_under_break_glass": upload_route(opened=True),
    "download_attachment": Route(
        "GET", lambda t: f"/attachments/{t.attachment_id}", shared=True, attached=True,
        expected=statuses(own=200, other=403, designer=403, admin=200)),
    "download_attachment_under_break_glass": Route(
        "GET", lambda t: f"/attachments/{t.attachment_id}", attached=True, opened=True,
        expected=statuses(own=200, other=200, designer=403, admin=200)),
    "remove_attachment": Route(
        "POST", lambda t: f"/attachments/{t.attachment_id}/remove", attached=True,
        changes=True, location=r"/clients/\d+#documents",
        expected=statuses(own=302, other=403, designer=403, admin=302)),
    "add_client": Route(
        "POST", lambda t: "/clients", per_target=False, location=r"/clients/\d+",
        data=lambda t, user: {"name": "Walk In", "release_date": "2026-12-01"},
        expected=statuses(own=302, other=302, designer=403, admin=302)),
}

POST_ROUTES = [name for name, route in ROUTES.items() if route.method == "POST"]


def cases() -> Iterator[Any]:
    for name, route in ROUTES.items():
        for target in TARGETS if route.per_target else ("sg",):
            for user in USERS:
                label = f"{name}-{user}" + (f"-{target}" if route.per_target else "")
                yield pytest.param(name, user, target, id=label)


def send(client: FlaskClient, route: Route, target: Target, user: str,
            token: str | None) -> Any:
    path = route.path(target)
    if route.method == "GET":
        return client.get(path, query_string=route.query)
    data = {**route.data(target, user if user != ANONYMOUS else "nobody")}
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data)


def test_every_route_is_in_the_matrix(shared: World) -> None:
    """A new route fails here until the matrix says who may use it."""
    covered = {"/", "/login", "/logout", "/health", "/healthz", "/readyz", "/metrics",
               "/inbox", "/inbox/reassign", "/inbox/filters",
               "/inbox/filters/<int:filter_id>/delete", "/account", "/account/digest",
               "/tasks/<task_id>", "/tasks/<task_id>/claim", "/tasks/<task_id>/unclaim",
               "/clients/<int:client_id>", "/clients/<int:client_id>/consents",
               "/clients/<int:client_id>/cases", "/clients/<int:client_id>/export",
               "/clients/<int:client_id>/open", "/clients", "/dashboard", "/admin/access",
               "/clients/<int:client_id>/notes", "/cases/<int:case_id>/notes",
               "/cases/<int:case_id>/close",
               "/cases/<int:case_id>", "/cases/<int:case_id>/diagram.bpmn",
               "/dashboard/<table>.csv", "/dashboard/<name>.svg", "/static/<path:filename>",
               "/dashboard/statement", "/dashboard/cohorts.svg",
               "/admin/users", "/admin/users/<username>/signout", "/admin/incidents",
               "/admin/access.csv", "/admin/new-user", "/admin/users/<username>",
               "/admin/users/<username>/role", "/admin/users/<username>/deactivate",
               "/admin/users/<username>/reactivate", "/admin/users/<username>/password",
               "/admin/users/<username>/tokens",
               "/admin/users/<username>/tokens/<int:token_id>/revoke",
               "/admin/organisations", "/admin/organisations/<org_id>/rename",
               "/admin/incidents/<int:case_id>/retry",
               "/admin/incidents/<int:case_id>/cancel", "/pathways", "/pathways/<name>",
               "/pathways/<name>/v<int:number>", "/pathways/<name>/v<int:number>.bpmn",
               "/pathways/<name>/v<int:number>/counts.json", "/pathways/<name>/compare",
               "/pathways/<name>/allocation", "/pathways/<name>/migrate",
               "/pathways/<name>/migrations", "/pathways/<name>/migrations/<int:migration_id>",
               "/pathways/<name>/migrations/<int:migration_id>/revert",
               "/pathways/<name>/migrations/<int:migration_id>/progress.json",
               "/pathways/<name>/v<int:number>/steps/<step>/retry",
               "/editor", "/pathways/<name>/edit", "/editor/check", "/editor/publish",
               "/editor/upload", "/editor/draft", "/editor/draft/discard",
               "/vendor/<package>/<path:filename>",  # vendor: built front-end files, as static
               "/clients/<int:client_id>/attachments", "/attachments/<int:attachment_id>",
               "/attachments/<int:attachment_id>/remove"}
    rules = {rule.rule for rule in shared.app_site.app.url_map.iter_rules()
             if not rule.rule.startswith("/api/")}
    assert rules == covered


@pytest.mark.parametrize(("route_name", "user", "target_org"), list(cases()))
def test_access(shared: World, route_name: str, user: str, target_org: str) -> None:
    route = ROUTES[route_name]
    expected = route.expected[kind(user, target_org)]
    target = target_for(shared, route, target_org)
    limiter.reset()
    client, token = session_for(shared, user)
    if route.opened and user != ANONYMOUS and shared.user(user).role in (
            "caseworker", "team_lead", "admin"):
        shared.application.casework.client_record(shared.user(user), target.client_id,
                                                  reason=REASON)
    before = snapshot(shared, target)

    response = send(client, route, target, user, token)

    if expected == LOGIN:
        assert response.status_code == 302, response.text
        assert response.location.startswith("/login"), response.location
    elif expected == TOLD:
        assert response.status_code == 302, response.text
        told = client.get(response.location).text
        assert "Not reassigned" in told and target.name not in told
        assert snapshot(shared, target) == before, "a refused request changed something"
        return
    else:
        assert response.status_code == expected, (response.status_code, response.text[:600])
    after = snapshot(shared, target)
    allowed = response.status_code in (200, 302) and expected != LOGIN
    if route.changes and allowed:
        assert after != before, "an allowed request changed nothing"
        if route.location:
            assert re.fullmatch(route.location, response.location.split("?reason")[0]), \
                response.location
    else:
        assert after == before, "a refused or read-only request changed something"
    if response.status_code in (403, 404):
        assert target.name not in response.text  # refused: nothing of the client shown


@pytest.mark.parametrize("user", [ANONYMOUS, "sg_caseworker", "sg_admin"])
@pytest.mark.parametrize("route_name", POST_ROUTES)
def test_every_post_needs_its_csrf_token(shared: World, route_name: str, user: str) -> None:
    route = ROUTES[route_name]
    target = incident(shared, "sg") if route.incident else fresh(shared, "sg",
                                                                 claimed=route.claimed)
    if route.attached:
        target.attachment_id = attach(shared, target)
    limiter.reset()
    for token in (None, "forged-token", csrf_token(shared.app_site.client().get("/login").text)):
        client, _ = session_for(shared, user)
        before = snapshot(shared, target)
        response = send(client, route, target, user, token)
        assert response.status_code == 400, (token, response.status_code, response.text[:300])
        assert "could not be accepted" in response.text
        assert snapshot(shared, target) == before
        if user != ANONYMOUS:  # still signed in: a refused form signs nobody out
            assert not client.get("/").location.startswith("/login")


def test_the_break_glass_page_is_shown_only_to_those_who_may_give_a_reason(
        shared: World) -> None:
    aaron = shared.clients["aaron"]
    for user in ("om_caseworker", "om_team_lead"):
        client, _ = session_for(shared, user)
        page = client.get(f"/clients/{aaron}")
        assert page.status_code == 403 and 'name="reason"' in page.text, user
    for user in ("sg_designer", "om_designer", "sg_commissioner", "om_commissioner"):
        client, _ = session_for(shared, user)
        page = client.get(f"/clients/{aaron}")
        assert page.status_code == 403 and 'name="reason"' not in page.text, user


def test_another_organisation_cannot_start_its_pathway_even_with_a_reason(
        shared: World) -> None:
    target = fresh(shared, "sg")
    client, token = session_for(shared, "om_caseworker")
    before = snapshot(shared, target)
    response = client.post(f"/clients/{target.client_id}/cases", data={
        "csrf_token": token, "pathway": "gate_reception", "reason": "Because I can"})
    # refused before the pathway is even looked at: a reason never lets anyone write
    assert response.status_code == 403 and "programme consent" in response.text
    assert snapshot(shared, target) == before


def test_a_deactivated_user_loses_every_page(shared: World) -> None:
    shared.application.accounts.add_user("sg_leaver", "Leaver", "st_giles_trust",
                                         "caseworker", PASSWORD)
    client, _ = session_for(shared, "sg_leaver")
    assert client.get("/inbox").status_code == 200
    shared.application.accounts.deactivate("sg_leaver")
    target = shared_target(shared, "sg")
    for path in ("/inbox", f"/tasks/{target.task_id}", f"/clients/{target.client_id}"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login"), path


@pytest.mark.parametrize("path", ["/logout", "/inbox/reassign", "/tasks/x/claim",
                                  "/tasks/x/unclaim", "/clients/1/consents", "/clients/1/cases",
                                  "/admin/incidents/1/retry", "/clients/1/notes",
                                  "/cases/1/notes", "/cases/1/close"])
def test_post_only_routes_refuse_get(shared: World, path: str) -> None:
    client, _ = session_for(shared, "sg_admin")
    assert client.get(path).status_code == 405
