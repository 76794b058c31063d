"""Clients as caseworkers meet them: finding and adding one, the client record, consents,
and starting a case for them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine import access
from engine.access import privacy
from engine.casework import case_notes
from engine.casework.case_page import entry
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import CaseSummary, ClientRecord, StartResult, TimelineEntry
from engine.errors import (
    DefinitionError,
    DuplicateCaseError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
)
from engine.model import CONSENT_SCOPES, CaseRecord, Client, Consent, User
from engine.ports import UnitOfWork
from engine.workflow.definition_model import ParsedDefinition


def clients(cw: CaseworkContext, user: User, query: str, *, limit: int, offset: int = 0
            ) -> list[Client]:
    """Clients whose record the user may open without giving a reason (admins: all),
    whose name contains the query (case aside, as str.lower) or whose number it is; by
    name, then number: the page of `limit` from `offset`. Names only: opening a record is
    what is logged. The access rule, the search, the order and the page are one query
    (CaseworkContext.client_scope): its cost does not grow with the clients the user
    may not see, and the statements run do not grow with the clients at all."""
    if not access.may_open_records(user):
        raise ForbiddenError("your role does not open individual client records",
                             details={"role": user.role})
    with cw.uow(read_only=True) as uow:
        return uow.clients.find(cw.client_scope(uow, user), query.strip().lower(),
                                limit=limit, offset=offset)


CLIENT_PAGE_LIMIT = 200  # clients on one page at most
CLIENT_PAGE_OFFSET = 1_000_000  # the furthest a page may start (past it: search instead)


@dataclass(frozen=True)
class ClientPage:
    """A page of the clients a user may open (see clients): those from offset on, at most
    limit of them; more tells whether a page follows."""

    clients: list[Client]
    limit: int
    offset: int
    more: bool


def client_page(cw: CaseworkContext, user: User, query: str, *, limit: int, offset: int
                ) -> ClientPage:
    """clients(), a page at a time: InvalidArgumentError (details.fields) for a limit
    outside 1..CLIENT_PAGE_LIMIT or an offset outside 0..CLIENT_PAGE_OFFSET."""
    problems: dict[str, list[str]] = {}
    if not 1 <= limit <= CLIENT_PAGE_LIMIT:
        problems["limit"] = [f"must be from 1 to {CLIENT_PAGE_LIMIT}"]
    if not 0 <= offset <= CLIENT_PAGE_OFFSET:
        problems["offset"] = [f"must be from 0 to {CLIENT_PAGE_OFFSET:,}"]
    if problems:
        raise InvalidArgumentError("invalid page of clients", details={"fields": problems})
    found = clients(cw, user, query, limit=limit + 1, offset=offset)
    return ClientPage(found[:limit], limit, offset, len(found) > limit)


def add_client(cw: CaseworkContext, user: User, name: str, fields: Mapping[str, Any] | None
               ) -> Client:
    """Register a client; the user's organisation counts as taking part in their care."""
    if not access.may_open_records(user):
        raise ForbiddenError("your role does not add clients", details={"role": user.role})
    client = cw.engine.add_client(name, fields)
    with cw.uow() as uow:
        cw.log_access(uow, user, "create_client", client.id)
        uow.commit()
    return client


def client_record(cw: CaseworkContext, user: User, client_id: int, reason: str | None
                  ) -> ClientRecord:
    """One client's record: profile, cases, timeline, referrals, outcomes, consents.

    Sensitive values the user may not see are replaced by "[hidden]"; cases, steps,
    referrals and fields whose mere presence would tell are left out (engine.access.privacy),
    except open tasks the user may do. Every view is
    logged ('view_client', with the reason for a break-glass access); a refusal is logged
    too ('view_client_refused') and raises ForbiddenError (details.reason_required).
    A reason (engine.access.check_reason: InvalidArgumentError when it says nothing)
    opens a record otherwise closed for the break-glass time box: later views by the
    same user within it need none, and are logged with the opening's reason.
    """
    today = cw.clock.now().date()
    with cw.uow() as uow:
        found = cw.client_access(uow, user, client_id, reason, "view_client")
        visible = access.visible_categories(user, involved=found.involved,
                                            consents=found.consents, today=today)
        redactor = privacy.Redactor(cw.sensitivity(uow, found.cases), visible,
                                    may_do=lambda t: cw.may_do(uow, user, t),
                                    sees_unknown=access.may_see_unloadable(user))
        profile = redactor.client(found.client)
        summaries, timeline = _cases_shown(cw, uow, found.cases, redactor)
        notes = case_notes.shown_notes(user, uow.notes.for_client(client_id), {
            s.case.id: s.case for s in summaries if s.case.id is not None}, redactor)
        glass = found.decision.break_glass
        startable = [] if glass else _startable(cw, uow, user)
        opened_at = cw.log_view(uow, user, client_id, found, redactor)
        uow.commit()
    return ClientRecord(
        client=profile, cases=summaries, timeline=timeline,
        referrals=[e for e in timeline if e.type == "referral_made"],
        outcomes=[e for e in timeline if e.type == "outcome_recorded"],
        consents=found.consents, basis=found.decision.basis or "",
        visible_categories=tuple(sorted(visible)), hidden_fields=sorted(redactor.hidden),
        startable=startable,
        may_record_consent=found.decision.basis in ("admin", "organisation"),
        break_glass_reason=found.reason if glass else None,
        break_glass_until=(opened_at + cw.break_glass) if glass else None,
        unloadable_withheld=any(redactor.withholds(c.pathway, c.version)
                                for c in found.cases),
        notes=notes, may_note=found.decision.basis in case_notes.WRITES)


def _cases_shown(cw: CaseworkContext, uow: UnitOfWork, cases: Sequence[CaseRecord],
                 redactor: privacy.Redactor
                 ) -> tuple[list[CaseSummary], list[TimelineEntry]]:
    """The cases the user may know of, summarised, and their events, oldest first."""
    summaries: list[CaseSummary] = []
    timeline: list[TimelineEntry] = []
    for case in cases:
        assert case.id is not None
        shown = redactor.case(case)
        if shown is None:  # a case on a pathway that is itself sensitive
            continue
        definition = cw.loaded(uow, case.pathway, case.version)
        broken = definition if isinstance(definition, DefinitionError) else None
        summaries.append(CaseSummary(
            case=shown, owner=definition.owner if isinstance(
                definition, ParsedDefinition) else None,
            open_tasks=[t for t in uow.inbox.list(case_id=case.id) if redactor.task(t)],
            problem=broken.message if broken else None))
        loaded = definition if isinstance(definition, ParsedDefinition) else None
        timeline += [entry(case, event, loaded)
                     for event in redactor.events(case, uow.events.list(case.id))]
    timeline.sort(key=lambda e: (e.at, e.case_id, e.seq))
    return summaries, timeline


def _startable(cw: CaseworkContext, uow: UnitOfWork, user: User) -> list[str]:
    """The pathways the user may start a case of (never one that cannot be loaded)."""
    return [v.pathway for v in uow.versions.latest_all()
            if isinstance(d := cw.loaded(uow, v.pathway, v.number), ParsedDefinition)
            and access.may_start(user, d)]


def record_consent(cw: CaseworkContext, user: User, client_id: int, given: bool, scope: str,
                   purpose: str, effective_on: date | None) -> Consent:
    """Record a consent given (or withdrawn) for a scope: programme, health or offence.

    Only an organisation involved in the client's care (or an admin) records consents:
    never under break-glass, nor under the programme consent alone.
    effective_on defaults to today.
    """
    if scope not in CONSENT_SCOPES:
        raise InvalidArgumentError(f"unknown consent scope {scope!r}; use one of "
                                   f"{', '.join(CONSENT_SCOPES)}", details={"scope": scope})
    if not purpose.strip():
        raise InvalidArgumentError("say what the consent is for (its purpose)",
                                   details={"fields": {"purpose": ["is required"]}})
    now = cw.clock.now()
    with cw.uow() as uow:
        found = cw.client_access(uow, user, client_id, None, "record_consent")
        consent = uow.consents.add(Consent(
            id=None, client_id=client_id, given=given, scope=scope, purpose=purpose,
            recorded_by=user.username, recorded_at=now,
            effective_on=effective_on or now.date()))
        cw.log_access(uow, user, "record_consent", client_id, consent=consent.id,
                      given=given, scope=scope, basis=found.decision.basis, break_glass=False)
        uow.commit()
    return consent


def start_case(cw: CaseworkContext, user: User, pathway: str, client_id: int, *,
               another: bool = True) -> StartResult:
    """Start a case of the pathway for the client: the user must be allowed to start the
    pathway (engine.access.may_start) and their organisation must work with the client,
    or the client's programme consent be in effect; never under break-glass. Without
    another, a client's second open case of the pathway is refused (DuplicateCaseError)."""
    with cw.uow() as uow:
        found = cw.client_access(uow, user, client_id, None, "start_case")
        latest = uow.versions.latest(pathway)
        definition = cw.definition(uow, pathway, latest.number) if latest else None
        if definition is None:
            raise NotFoundError(f"no pathway {pathway!r} is published",
                                details={"pathway": pathway})
        if not access.may_start(user, definition):
            raise ForbiddenError(f"your organisation does not work pathway {pathway!r}",
                                 details={"pathway": pathway})
        if not another:
            _refuse_duplicate(uow, pathway, client_id)
    view = cw.engine.start_case(pathway, client_id, actor=user.username)
    with cw.uow() as uow:
        cw.log_access(uow, user, "start_case", client_id, case=view.case.id,
                      pathway=pathway, basis=found.decision.basis, break_glass=False)
        uow.commit()
        following = cw.next_task(uow, user, client_id, view.case.id)
    return StartResult(dataclasses.replace(view.case, state={}), view.tasks, following)



def _refuse_duplicate(uow: UnitOfWork, pathway: str, client_id: int) -> None:
    """DuplicateCaseError when the client has an open case (active, or stopped in error)
    of the pathway."""
    open_cases = [c.id for c in uow.cases.list(pathway=pathway, client_id=client_id)
                  if c.status in ("active", "error")]
    if open_cases:
        raise DuplicateCaseError(
            f"the client already has an open {pathway.replace('_', ' ')} case",
            details={"pathway": pathway, "cases": open_cases})
