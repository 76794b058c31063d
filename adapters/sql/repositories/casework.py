"""Storage of casework: clients, accounts (organisations, users, tokens, sessions), consents,
the access log and form drafts."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, update

from adapters.sql import tables
from adapters.sql.client_search import find_statement
from adapters.sql.repositories.common import (
    DIALECT_INSERTS,
    SqlRepository,
    columns_of,
    field_names,
    insert_id,
    insert_id_if_absent,
    json_at,
    matching,
    record_from,
    text_at,
)
from engine.errors import ConflictError, NotFoundError
from engine.model import (
    AccessEntry,
    ApiToken,
    Client,
    ClientScope,
    Consent,
    DefinitionDraft,
    Draft,
    Organisation,
    SavedFilter,
    User,
    UserSession,
    name_key,
)
from engine.workflow import current_time


class SqlClientRepository(SqlRepository):
    """The people (or households) cases are run for."""

    def add(self, client: Client) -> Client:
        client.created_at = client.created_at or current_time()
        client.id = insert_id(self._connection, tables.clients,
                              columns_of(client, search_name=name_key(client.name)))
        return client

    def get(self, client_id: int) -> Client | None:
        return self._one(_client, select(tables.clients).where(tables.clients.c.id == client_id))

    def list(self) -> builtins.list[Client]:
        statement = select(tables.clients).order_by(tables.clients.c.id)
        return self._all(_client, statement)

    def find(self, scope: ClientScope, text: str, *, limit: int, offset: int = 0
             ) -> builtins.list[Client]:
        dialect = self._connection.dialect.name
        statement = find_statement(scope, text, dialect, limit=limit, offset=offset)
        if dialect == "postgresql":  # the planner cannot know how few entries are break-glass
            # and would compile the query (JIT) for seconds to save milliseconds
            self._connection.exec_driver_sql("SET LOCAL jit = off")
        return [Client(row.id, row.name, {}, row.created_at)
                for row in self._connection.execute(statement.columns(
                    tables.clients.c.id, tables.clients.c.name, tables.clients.c.created_at))]

    def field_values(self, field: str) -> dict[int, Any]:
        c = tables.clients.c
        return {client: value for client, value in self._connection.execute(
            select(c.id, json_at(c.fields, field, self._connection.dialect.name))).all()
            if value is not None}

    def clients_by_text(self, field: str) -> dict[str, builtins.list[int]]:
        """Grouped by the database: a row per distinct text, its clients' ids as one array
        (PostgreSQL) or one JSON array (SQLite), not a row per client."""
        c = tables.clients.c
        dialect = self._connection.dialect.name
        held = select(c.id, text_at(c.fields, field, dialect).label("text")).subquery()
        ids = (func.json_group_array(held.c.id) if dialect == "sqlite"
               else func.array_agg(held.c.id))
        rows = self._connection.execute(
            select(held.c.text, ids).where(held.c.text.is_not(None)).group_by(held.c.text))
        return {text: json.loads(found) if isinstance(found, str) else list(found)
                for text, found in rows.all()}

    def update_fields(self, client_id: int, fields: Mapping[str, Any]) -> None:
        """Merge fields into the profile; read and written in the caller's transaction."""
        clients = tables.clients
        current = self._connection.execute(
            select(clients.c.fields).where(clients.c.id == client_id).with_for_update()
        ).scalar_one_or_none()
        if current is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        self._connection.execute(update(clients).where(clients.c.id == client_id)
                                 .values(fields={**current, **fields}))


def _client(row: Row[Any]) -> Client:
    return record_from(Client, row)


# -- accounts ------------------------------------------------------------------------------


class SqlOrganisationRepository(SqlRepository):
    """The providers and bodies users belong to."""

    def put(self, organisation: Organisation) -> None:
        o = tables.organisations
        statement = DIALECT_INSERTS[self._connection.dialect.name](o).values(
            id=organisation.id, name=organisation.name)
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[o.c.id], set_={"name": statement.excluded.name}))

    def get(self, organisation_id: str) -> Organisation | None:
        o = tables.organisations
        return self._one(_organisation, select(o).where(o.c.id == organisation_id))

    def list(self) -> builtins.list[Organisation]:
        o = tables.organisations
        return self._all(_organisation, select(o).order_by(o.c.id))


def _organisation(row: Row[Any]) -> Organisation:
    return record_from(Organisation, row)


class SqlUserRepository(SqlRepository):
    """People who sign in, with their password hashes."""

    def add(self, user: User) -> User:
        """Insert; ConflictError when the username is taken (the transaction stays usable)."""
        created_at = user.created_at or current_time()
        new_id = insert_id_if_absent(self._connection, tables.users, columns_of(
            user, created_at=created_at, pathway_roles=list(user.pathway_roles)))
        if new_id is None:
            raise ConflictError(f"user {user.username!r} exists already",
                                details={"fields": {"username": ["is taken"]},
                                         "username": user.username})
        return replace(user, id=new_id, created_at=created_at)

    def get(self, user_id: int) -> User | None:
        u = tables.users
        return self._one(_user, select(u).where(u.c.id == user_id))

    def by_username(self, username: str) -> User | None:
        u = tables.users
        return self._one(_user, select(u).where(u.c.username == username))

    def list(self, organisation: str | None = None) -> builtins.list[User]:
        u = tables.users
        statement = select(u).where(*matching((u.c.organisation, organisation)))
        return self._all(_user, statement.order_by(u.c.username))

    def update(self, user: User) -> None:
        u = tables.users
        result = self._connection.execute(
            update(u).where(u.c.id == user.id).values(**_user_fields(user)))
        if result.rowcount == 0:
            raise NotFoundError(f"no user {user.id}", details={"user": user.id})


def _user_fields(user: User) -> dict[str, Any]:
    """What an update may change: not the id, the username or when the user was added."""
    return columns_of(user, leave_out=("id", "username", "created_at"),
                      pathway_roles=list(user.pathway_roles))


def _user(row: Row[Any]) -> User:
    return record_from(User, row, pathway_roles=tuple(row.pathway_roles),
                       active=bool(row.active))


class SqlTokenRepository(SqlRepository):
    """API tokens, stored only as their sha256 hex."""

    def add(self, token: ApiToken) -> ApiToken:
        created_at = token.created_at or current_time()
        new_id = insert_id_if_absent(self._connection, tables.api_tokens,
                                     columns_of(token, created_at=created_at))
        if new_id is None:
            raise ConflictError("token hash exists already")
        return replace(token, id=new_id, created_at=created_at)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        t = tables.api_tokens
        return self._one(_token, select(t).where(t.c.token_hash == token_hash))

    def with_user(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        row = self._connection.execute(_TOKEN_WITH_USER, {"b_hash": token_hash}).one_or_none()
        if row is None:
            return None
        return record_from(ApiToken, row), _joined_user(row)

    def touch(self, token_id: int, at: datetime) -> None:
        t = tables.api_tokens
        self._connection.execute(update(t).where(t.c.id == token_id).values(last_used_at=at))

    def list(self, username: str) -> builtins.list[ApiToken]:
        t = tables.api_tokens
        statement = select(t).where(t.c.username == username).order_by(t.c.id)
        return self._all(_token, statement)

    def revoke(self, token_id: int, at: datetime) -> None:
        t = tables.api_tokens
        self._connection.execute(
            update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=at))
        found = self._connection.execute(select(t.c.id).where(t.c.id == token_id)).one_or_none()
        if found is None:
            raise NotFoundError(f"no API token {token_id}", details={"token": token_id})


_USER_FIELDS = tuple(name for name in field_names(User)
                     if name not in ("pathway_roles", "active"))
_TOKEN_WITH_USER = (
    select(tables.api_tokens, *(c.label(f"user_{c.name}") for c in tables.users.c))
    .outerjoin(tables.users, tables.users.c.username == tables.api_tokens.c.username)
    .where(tables.api_tokens.c.token_hash == bindparam("b_hash")))


_SESSION_WITH_USER = (
    select(tables.user_sessions, *(c.label(f"user_{c.name}") for c in tables.users.c))
    .outerjoin(tables.users, tables.users.c.username == tables.user_sessions.c.username)
    .where(tables.user_sessions.c.key_hash == bindparam("b_hash")))


def _joined_user(row: Row[Any]) -> User | None:
    """The user of a row joined to its token or session (columns labelled user_*)."""
    if row.user_id is None:
        return None
    return User(**{name: row._mapping[f"user_{name}"] for name in _USER_FIELDS},
                pathway_roles=tuple(row.user_pathway_roles), active=bool(row.user_active))


def _token(row: Row[Any]) -> ApiToken:
    return record_from(ApiToken, row)


class SqlSessionRepository(SqlRepository):
    """Web sessions, stored only by the sha256 hex of their cookie key."""

    def add(self, session: UserSession) -> UserSession:
        new_id = insert_id_if_absent(self._connection, tables.user_sessions,
                                     columns_of(session))
        if new_id is None:
            raise ConflictError("session key hash exists already")
        return replace(session, id=new_id)

    def by_hash(self, key_hash: str) -> UserSession | None:
        s = tables.user_sessions
        return self._one(_session, select(s).where(s.c.key_hash == key_hash))

    def with_user(self, key_hash: str) -> tuple[UserSession, User | None] | None:
        row = self._connection.execute(_SESSION_WITH_USER, {"b_hash": key_hash}).one_or_none()
        if row is None:
            return None
        return record_from(UserSession, row), _joined_user(row)

    def touch(self, session_id: int, at: datetime) -> None:
        s = tables.user_sessions
        self._connection.execute(update(s).where(s.c.id == session_id).values(last_seen_at=at))

    def end(self, session_id: int, at: datetime, reason: str) -> None:
        s = tables.user_sessions
        self._connection.execute(update(s).where(s.c.id == session_id, s.c.ended_at.is_(None))
                                 .values(ended_at=at, ended_reason=reason))

    def end_all(self, username: str, at: datetime, reason: str) -> int:
        s = tables.user_sessions
        result = self._connection.execute(
            update(s).where(s.c.username == username, s.c.ended_at.is_(None))
            .values(ended_at=at, ended_reason=reason))
        return int(result.rowcount)

    def list(self, username: str | None = None) -> builtins.list[UserSession]:
        s = tables.user_sessions
        statement = select(s).where(*matching((s.c.username, username)))
        return self._all(_session, statement.order_by(s.c.id))

    def prune(self, created_before: datetime) -> None:
        s = tables.user_sessions
        self._connection.execute(delete(s).where(s.c.created_at < created_before))


def _session(row: Row[Any]) -> UserSession:
    return record_from(UserSession, row)


# -- consents, access log, drafts --------------------------------------------------------


class SqlConsentRepository(SqlRepository):
    """Consents given and withdrawn; never changed, only added to."""

    def add(self, consent: Consent) -> Consent:
        new_id = insert_id(self._connection, tables.consents, columns_of(consent))
        return replace(consent, id=new_id)

    def for_client(self, client_id: int) -> builtins.list[Consent]:
        c = tables.consents
        rows = self._connection.execute(
            select(c).where(c.c.client_id == client_id).order_by(c.c.id))
        return [record_from(Consent, row, given=bool(row.given)) for row in rows]


class SqlAccessLog(SqlRepository):
    """Who viewed or did what to which client record: append-only."""

    def add(self, entry: AccessEntry) -> AccessEntry:
        new_id = insert_id(self._connection, tables.access_log, columns_of(entry))
        return replace(entry, id=new_id)

    def list(self, *, client_id: int | None = None, username: str | None = None,
             since: datetime | None = None, break_glass: bool = False,
             actions: Sequence[str] | None = None) -> builtins.list[AccessEntry]:
        a = tables.access_log
        if actions is not None and client_id is not None and username is None \
                and since is None and not break_glass:  # a task's check: built once
            rows = self._connection.execute(
                _CLIENT_ACTIONS, {"b_client": client_id, "b_actions": list(actions)})
            return [record_from(AccessEntry, row) for row in rows]
        filters = matching((a.c.client_id, client_id), (a.c.username, username))
        if actions is not None:
            filters.append(a.c.action.in_(actions))
        if since is not None:
            filters.append(a.c.at >= since)
        if break_glass:
            filters.append(a.c.reason.is_not(None))
        rows = self._connection.execute(select(a).where(*filters).order_by(a.c.id))
        return [record_from(AccessEntry, row) for row in rows]


_CLIENT_ACTIONS = (
    select(tables.access_log)
    .where(tables.access_log.c.client_id == bindparam("b_client"),
           tables.access_log.c.action.in_(bindparam("b_actions", expanding=True)))
    .order_by(tables.access_log.c.id))


class SqlDraftRepository(SqlRepository):
    """Part-filled task forms, one per task and user."""

    def save(self, draft: Draft) -> None:
        d = tables.drafts
        statement = DIALECT_INSERTS[self._connection.dialect.name](d).values(
            **columns_of(draft, leave_out=()))
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[d.c.task_id, d.c.username],
            set_={"data": statement.excluded.data, "saved_at": statement.excluded.saved_at,
                  "case_id": statement.excluded.case_id}))

    def get(self, task_id: str, username: str) -> Draft | None:
        d = tables.drafts
        return self._one(_draft, select(d).where(d.c.task_id == task_id, d.c.username == username))

    def for_case(self, case_id: int) -> builtins.list[Draft]:
        d = tables.drafts
        rows = self._connection.execute(
            select(d).where(d.c.case_id == case_id).order_by(d.c.saved_at, d.c.task_id,
                                                            d.c.username))
        return [_draft(row) for row in rows]

    def delete(self, task_id: str) -> None:
        self._connection.execute(_DELETE_DRAFTS, {"b_task": task_id})


# built once: every task completion deletes the task's drafts
_DELETE_DRAFTS = delete(tables.drafts).where(tables.drafts.c.task_id == bindparam("b_task"))


class SqlSavedFilterRepository(SqlRepository):
    """Inbox filters each user named and kept (revision 0028)."""

    def save(self, saved: SavedFilter) -> SavedFilter:
        f = tables.saved_filters
        statement = DIALECT_INSERTS[self._connection.dialect.name](f).values(
            **columns_of(saved))
        new_id = self._connection.execute(statement.on_conflict_do_update(
            index_elements=[f.c.username, f.c.name],
            set_={"query": statement.excluded.query, "saved_at": statement.excluded.saved_at})
            .returning(f.c.id)).scalar_one()
        return replace(saved, id=int(new_id))

    def list(self, username: str) -> builtins.list[SavedFilter]:
        f = tables.saved_filters
        rows = self._connection.execute(
            select(f).where(f.c.username == username).order_by(f.c.name, f.c.id))
        return [record_from(SavedFilter, row) for row in rows]

    def delete(self, username: str, filter_id: int) -> bool:
        f = tables.saved_filters
        gone = self._connection.execute(
            delete(f).where(f.c.username == username, f.c.id == filter_id))
        return bool(gone.rowcount)


class SqlDefinitionDraftRepository(SqlRepository):
    """Pathways' YAML being written, one per designer and pathway."""

    def save(self, draft: DefinitionDraft) -> None:
        d = tables.definition_drafts
        statement = DIALECT_INSERTS[self._connection.dialect.name](d).values(
            **columns_of(draft, leave_out=()))
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[d.c.username, d.c.pathway],
            set_={"source": statement.excluded.source,
                  "based_on": statement.excluded.based_on,
                  "saved_at": statement.excluded.saved_at}))

    def get(self, username: str, pathway: str) -> DefinitionDraft | None:
        d = tables.definition_drafts
        return self._one(lambda row: record_from(DefinitionDraft, row), select(d).where(
            d.c.username == username, d.c.pathway == pathway))

    def delete(self, username: str, pathway: str) -> None:
        d = tables.definition_drafts
        self._connection.execute(delete(d).where(d.c.username == username,
                                                 d.c.pathway == pathway))


def _draft(row: Row[Any]) -> Draft:
    return record_from(Draft, row)
