"""The accounts' ports (engine.ports re-exports them): who signs in, their organisations,
API tokens and sessions, and the password hasher an adapter provides."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from engine.model import ApiToken, Organisation, User, UserSession


class PasswordHasher(Protocol):
    """Hashes passwords (an adapter does it; the engine never hashes by itself)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether password matches password_hash; False (never an error) for a bad hash."""
        ...


class OrganisationRepository(Protocol):
    def put(self, organisation: Organisation) -> None:
        """Insert the organisation, or rename it when its id exists already."""
        ...

    def get(self, organisation_id: str) -> Organisation | None: ...

    def list(self) -> builtins.list[Organisation]:
        """Every organisation, by id."""
        ...


class UserRepository(Protocol):
    def add(self, user: User) -> User:
        """Insert a new user; returns it with its id (and created_at) set.

        Raises engine.errors.ConflictError when the username is taken.
        """
        ...

    def get(self, user_id: int) -> User | None: ...

    def by_username(self, username: str) -> User | None: ...

    def list(self, organisation: str | None = None) -> builtins.list[User]:
        """Users (of one organisation, if given), by username."""
        ...

    def update(self, user: User) -> None:
        """Write back the user's name, organisation, role, password hash, pathway roles and
        active flag (found by id). Raises NotFoundError when there is no such user."""
        ...


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> ApiToken:
        """Insert a new token; returns it with its id set."""
        ...

    def by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with this hash, revoked or not."""
        ...

    def with_user(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        """by_hash's token and the user it belongs to (None if there is no such user), in
        one query: every API request asks."""
        ...

    def touch(self, token_id: int, at: datetime) -> None:
        """Set the token's last_used_at."""
        ...

    def list(self, username: str) -> builtins.list[ApiToken]:
        """The user's tokens, revoked ones included, oldest first."""
        ...

    def revoke(self, token_id: int, at: datetime) -> None:
        """Set revoked_at (kept if set already). Raises NotFoundError for an unknown id."""
        ...


class SessionRepository(Protocol):
    def add(self, session: UserSession) -> UserSession:
        """Insert a new session; returns it with its id set."""
        ...

    def by_hash(self, key_hash: str) -> UserSession | None:
        """The session with this key hash, ended or not."""
        ...

    def with_user(self, key_hash: str) -> tuple[UserSession, User | None] | None:
        """by_hash's session and the user it belongs to (None if there is no such user), in
        one query: every page a browser asks for asks."""
        ...

    def touch(self, session_id: int, at: datetime) -> None:
        """Set the session's last_seen_at."""
        ...

    def end(self, session_id: int, at: datetime, reason: str) -> None:
        """End the session (kept as it is if ended already)."""
        ...

    def end_all(self, username: str, at: datetime, reason: str) -> int:
        """End every live session of the user; how many were live."""
        ...

    def list(self, username: str | None = None) -> builtins.list[UserSession]:
        """Sessions (of one user, if given), ended ones included, oldest first."""
        ...

    def prune(self, created_before: datetime) -> None:
        """Forget sessions started before that time (all long dead)."""
        ...


# -- casework ------------------------------------------------------------------------------
