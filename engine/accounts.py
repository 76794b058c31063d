"""Accounts: organisations, the people who sign in, and their API tokens.

Passwords are hashed by the PasswordHasher port (an adapter); API tokens are random strings
of which only the sha256 hex is stored, so a leaked database gives neither away. Like the
rest of the engine this does no I/O except through its ports.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace

from engine.errors import ConflictError, InvalidArgumentError, NotFoundError
from engine.model import USER_ROLES, ApiToken, Organisation, User
from engine.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ORGANISATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PATHWAY_ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_PASSWORD_LENGTH = 10
# Hashing is slow on purpose; refuse what would only make it slower.
MAX_PASSWORD_LENGTH = 1024


def token_hash(plain: str) -> str:
    """How an API token is stored and looked up: the sha256 hex of its text."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _invalid(message: str, fields: dict[str, list[str]]) -> InvalidArgumentError:
    return InvalidArgumentError(message, details={"fields": fields})


def _password_problems(password: str) -> list[str]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"must be at least {MIN_PASSWORD_LENGTH} characters"]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"must be at most {MAX_PASSWORD_LENGTH} characters"]
    return []


class Accounts:
    """Adds organisations and users, checks passwords, issues and checks API tokens."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, hasher: PasswordHasher) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._dummy_hash: str | None = None

    # -- organisations -------------------------------------------------------------------

    def add_organisation(self, organisation_id: str, name: str) -> Organisation:
        """Add an organisation, or rename it when the id exists already."""
        fields: dict[str, list[str]] = {}
        if not ORGANISATION_PATTERN.match(organisation_id):
            fields["id"] = ["must be lower case letters, digits, _ or -, "
                            "starting with a letter or digit (at most 64)"]
        if not name.strip():
            fields["name"] = ["must not be empty"]
        if fields:
            raise _invalid(f"cannot add organisation {organisation_id!r}", fields)
        organisation = Organisation(id=organisation_id, name=name.strip())
        with self._uow() as uow:
            uow.organisations.put(organisation)
            uow.commit()
        return organisation

    def organisations(self) -> list[Organisation]:
        with self._uow() as uow:
            return uow.organisations.list()

    # -- users ---------------------------------------------------------------------------

    def add_user(self, username: str, name: str, organisation: str, role: str, password: str,
                 pathway_roles: Iterable[str] = ()) -> User:
        """Add a user; InvalidArgumentError (details.fields) for bad input, ConflictError
        when the username is taken."""
        roles = tuple(dict.fromkeys(pathway_roles))
        fields: dict[str, list[str]] = {}
        if not USERNAME_PATTERN.match(username):
            fields["username"] = ["must be 2-64 characters: lower case letters, digits, "
                                  "'.', '_' or '-', starting with a letter or digit"]
        if not name.strip():
            fields["name"] = ["must not be empty"]
        if role not in USER_ROLES:
            fields["role"] = [f"must be one of {', '.join(USER_ROLES)}"]
        bad_roles = [r for r in roles if not PATHWAY_ROLE_PATTERN.match(r)]
        if bad_roles:
            fields["pathway_roles"] = [f"{r!r} is not a role id (lower_snake_case)"
                                       for r in bad_roles]
        if problems := _password_problems(password):
            fields["password"] = problems
        with self._uow() as uow:
            if uow.organisations.get(organisation) is None:
                fields["organisation"] = [f"no organisation {organisation!r}"]
            if fields:
                raise _invalid(f"cannot add user {username!r}", fields)
            if uow.users.by_username(username) is not None:
                raise ConflictError(f"user {username!r} exists already",
                                    details={"fields": {"username": ["is taken"]},
                                             "username": username})
            user = uow.users.add(User(
                id=None, username=username, name=name.strip(), organisation=organisation,
                role=role, password_hash=self._hasher.hash(password), pathway_roles=roles,
                active=True, created_at=self._clock.now()))
            uow.commit()
        return user

    def users(self, organisation: str | None = None) -> list[User]:
        with self._uow() as uow:
            return uow.users.list(organisation)

    def get_user(self, username: str) -> User:
        with self._uow() as uow:
            return self._user(uow, username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is theirs and they are active, else None.

        An unknown username costs a hash check too, so timing does not tell which
        usernames exist.
        """
        with self._uow() as uow:
            user = uow.users.by_username(username)
        if user is None:
            self._hasher.verify(self._dummy(), password)
            return None
        if not self._hasher.verify(user.password_hash, password):
            return None
        return user if user.active else None

    def set_password(self, username: str, password: str) -> User:
        if problems := _password_problems(password):
            raise _invalid("cannot set the password", {"password": problems})
        password_hash = self._hasher.hash(password)
        with self._uow() as uow:
            user = replace(self._user(uow, username), password_hash=password_hash)
            uow.users.update(user)
            uow.commit()
        return user

    def deactivate(self, username: str) -> User:
        """Stop the user signing in or using their tokens; their records stay."""
        with self._uow() as uow:
            user = replace(self._user(uow, username), active=False)
            uow.users.update(user)
            uow.commit()
        return user

    # -- API tokens ----------------------------------------------------------------------

    def issue_token(self, username: str, name: str) -> tuple[ApiToken, str]:
        """A new token for the user: the stored record and the plain token, which is
        shown this once and kept nowhere."""
        if not name.strip():
            raise _invalid("cannot issue a token", {"name": ["must not be empty"]})
        plain = secrets.token_urlsafe(32)
        with self._uow() as uow:
            user = self._user(uow, username)
            if not user.active:
                raise InvalidArgumentError(f"user {username!r} is deactivated",
                                           details={"username": username})
            token = uow.tokens.add(ApiToken(id=None, username=username, name=name.strip(),
                                            token_hash=token_hash(plain),
                                            created_at=self._clock.now()))
            uow.commit()
        return token, plain

    def tokens(self, username: str) -> list[ApiToken]:
        with self._uow() as uow:
            self._user(uow, username)
            return uow.tokens.list(username)

    def user_for_token(self, plain: str) -> User | None:
        """The active user a live token belongs to (noting its use), else None."""
        if not plain:
            return None
        with self._uow() as uow:
            token = uow.tokens.by_hash(token_hash(plain))
            if token is None or token.id is None or token.revoked_at is not None:
                return None
            user = uow.users.by_username(token.username)
            if user is None or not user.active:
                return None
            uow.tokens.touch(token.id, self._clock.now())
            uow.commit()
        return user

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token for good (revoking it again does nothing)."""
        with self._uow() as uow:
            uow.tokens.revoke(token_id, self._clock.now())
            uow.commit()

    # -- helpers -------------------------------------------------------------------------

    def _user(self, uow: UnitOfWork, username: str) -> User:
        user = uow.users.by_username(username)
        if user is None:
            raise NotFoundError(f"no user {username!r}", details={"username": username})
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
