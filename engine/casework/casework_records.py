"""What is held and who looked: the access report and a client's subject access export."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import AccessReportRow
from engine.errors import ForbiddenError, NotFoundError
from engine.model import AccessEntry, Draft, User
from engine.plain import to_plain


def _account_change(entry: AccessEntry) -> str | None:
    """An account change (engine.accounts) in words; None for any other entry."""
    d = entry.detail
    words = {
        "add_organisation": f"organisation {d.get('organisation')} added ({d.get('name')})",
        "rename_organisation": f"organisation {d.get('organisation')} renamed from "
                               f"{d.get('was')!r} to {d.get('name')!r}",
        "add_user": f"user {d.get('user')} added ({d.get('role')}, {d.get('organisation')})",
        "change_role": f"role of {d.get('user')} changed from {d.get('was')} to "
                       f"{d.get('role')}",
        "deactivate_user": f"user {d.get('user')} deactivated",
        "reactivate_user": f"user {d.get('user')} reactivated",
        "set_password": f"password of {d.get('user')} set",
        "reset_password": f"password of {d.get('user')} reset",
        "sign_out_everywhere": f"{d.get('user')} signed out everywhere",
        "issue_token": f"API token {d.get('token')} ({d.get('name')}) issued to "
                       f"{d.get('user')}",
        "revoke_token": f"API token {d.get('token')} revoked",
    }
    return words.get(entry.action) if entry.client_id is None else None


def _viewed(entry: AccessEntry) -> str:
    """What an access log entry saw or did, in words."""
    detail, action = entry.detail, entry.action
    if (change := _account_change(entry)) is not None:
        return change
    if action.endswith("_refused"):
        return "nothing (refused)"
    if action == "view_client":
        hidden = detail.get("hidden_categories") or []
        return "client record" + (f" ({', '.join(hidden)} hidden)" if hidden else "")
    if action == "view_case":
        hidden = detail.get("hidden_categories") or []
        return f"case {detail.get('case')}" + (f" ({', '.join(hidden)} hidden)" if hidden else "")
    if action in ("view_task", "claim", "unclaim", "reassign"):
        return f"task {detail.get('task')}"
    if action == "record_consent":
        given = "given" if detail.get("given") else "withdrawn"
        return f"{detail.get('scope')} consent {given}"
    if action == "start_case":
        return f"case {detail.get('case')} ({detail.get('pathway')})"
    if action == "record_note":
        return f"note {detail.get('note')} recorded"
    if action == "close_case":
        return f"case {detail.get('case')} closed"
    return {"export": "subject access export", "create_client": "client added"}.get(
        action, action.replace("_", " "))


def access_report(cw: CaseworkContext, viewer: User | None, *, break_glass: bool,
                  since: date | None, until: date | None = None,
                  organisation: str | None = None, username: str | None = None
                  ) -> list[AccessReportRow]:
    """The access log, oldest first: with break_glass, only break-glass accesses (the
    openings with their reasons and every view under them); since/until: from/to those
    days (UTC, both included); of one organisation's users or one user, if given.
    viewer None is the operator at the command line; a user must be an admin."""
    if viewer is not None and not (viewer.active and viewer.role == "admin"):
        raise ForbiddenError("only an admin reads the access log",
                             details={"role": viewer.role})
    start = datetime.combine(since, time.min, tzinfo=UTC) if since is not None else None
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) \
        if until is not None and until < date.max else None  # the last day: no end
    with cw.uow(read_only=True) as uow:
        entries = uow.access_log.list(since=start, break_glass=break_glass,
                                      username=username or None)
    entries = [e for e in entries if (end is None or e.at < end)
               and (not organisation or e.organisation == organisation)]
    return [AccessReportRow(at=e.at, username=e.username, organisation=e.organisation,
                            client=e.client_id, action=e.action, reason=e.reason,
                            viewed=_viewed(e)) for e in entries]

# -- subject access --------------------------------------------------------------------


def export_client(cw: CaseworkContext, admin: User, client_id: int) -> dict[str, Any]:
    """Everything held on one client, as one JSON-ready document (a subject access
    request): profile, cases with their data, events and open tasks, consents, notes, drafts,
    undelivered messages, the access log (this export included) and the documents'
    records. Admins only."""
    if not (admin.active and admin.role == "admin"):
        raise ForbiddenError("only an admin can export a client's record",
                             details={"role": admin.role})
    now = cw.clock.now()
    with cw.uow() as uow:
        client = uow.clients.get(client_id)
        if client is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        cw.log_access(uow, admin, "export", client_id)
        cases = []
        drafts: list[Draft] = []
        for case in uow.cases.list(client_id=client_id):
            assert case.id is not None
            cases.append({
                **to_plain(dataclasses.replace(case, state={})),
                "tasks": to_plain(uow.inbox.list(case_id=case.id)),
                "events": to_plain(uow.events.list(case.id)),
            })
            drafts += uow.drafts.for_case(case.id)
        document = {
            "exported_at": now.isoformat(),
            "exported_by": admin.username,
            "client": to_plain(client),
            "cases": [{k: v for k, v in c.items() if k != "state"} for c in cases],
            "consents": to_plain(uow.consents.for_client(client_id)),
            "notes": to_plain(uow.notes.for_client(client_id)),
            "drafts": to_plain(drafts),
            # the client's own (pending() adds programme-wide signals, nobody's record)
            "messages": to_plain([m for m in uow.messages.pending(client_id)
                                  if m.client_id == client_id]),
            "access_log": to_plain(uow.access_log.list(client_id=client_id)),
            # what was uploaded (the files themselves are downloaded one by one)
            "attachments": to_plain(uow.attachments.for_client(client_id)),
        }
        uow.commit()
    return document
