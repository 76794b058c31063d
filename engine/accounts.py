"""Accounts: organisations, the people who sign in, and their API tokens.

Passwords are hashed by the PasswordHasher port (an adapter); API tokens are random strings
of which only the sha256 hex is stored, so a leaked database gives neither away. Like the
rest of the engine this does no I/O except through its ports.

Web sessions are rows too (the cookie holds only a random key, stored as its sha256 hex), not
state in a signed cookie, because a signed cookie cannot be taken back: a copy would work for
its whole life. A row is ended by sign-out, a password change, deactivation and an admin's
"sign out everywhere", and counts as ended after `session_idle` without use or
`session_lifetime` after sign-in, so every one of those takes effect at the next request.
A table rather than a per-user counter lets one sign-out end one browser only and lets an
admin see who is signed in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from engine.errors import ConflictError, InvalidArgumentError, NotFoundError
from engine.model import USER_ROLES, AccessEntry, ApiToken, Organisation, User, UserSession
from engine.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ORGANISATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PATHWAY_ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_PASSWORD_LENGTH = 10
# Hashing is slow on purpose; refuse what would only make it slower.
MAX_PASSWORD_LENGTH = 1024
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=10)
# last_seen_at (and a token's last_used_at) is written at most this often, so a busy page
# (or integration) does not write on every request.
_TOUCH_EVERY = timedelta(seconds=60)
# Ended and timed-out sessions are kept this long (who was signed in when), then forgotten.
_KEEP_SESSIONS = timedelta(days=30)
# Who changed an account when no user is named (`by`): the operator at the command line.
COMMAND_LINE = "command line"
# What an account change is written to the access log as (client None, no reason: never
# counted as a break-glass access); the access report words them (casework_records).
ACCOUNT_ACTIONS = ("add_organisation", "rename_organisation", "add_user", "change_role",
                   "deactivate_user", "reactivate_user", "set_password", "reset_password",
                   "sign_out_everywhere", "issue_token", "revoke_token")
# A generated password: secrets.token_urlsafe(15) is 20 characters, 120 random bits.
_GENERATED_PASSWORD_BYTES = 15


def token_hash(plain: str) -> str:
    """How an API token is stored and looked up: the sha256 hex of its text."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_password() -> str:
    """A random password for an admin to hand over (shown once): within the rules."""
    return secrets.token_urlsafe(_GENERATED_PASSWORD_BYTES)


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

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, hasher: PasswordHasher, *,
                 session_idle: timedelta = SESSION_IDLE,
                 session_lifetime: timedelta = SESSION_LIFETIME) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self.session_idle = session_idle
        self.session_lifetime = session_lifetime
        self._dummy_hash: str | None = None

    # -- organisations -------------------------------------------------------------------

    def add_organisation(self, organisation_id: str, name: str, *, by: User | None = None,
                         exists_ok: bool = True) -> Organisation:
        """Add an organisation, or rename it when the id exists already (ConflictError
        instead when not exists_ok: the web's "add" must not rename by accident)."""
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
            earlier = uow.organisations.get(organisation_id)
            if earlier is not None and not exists_ok:
                raise ConflictError(f"organisation {organisation_id!r} exists already",
                                    details={"fields": {"id": ["is taken"]}})
            uow.organisations.put(organisation)
            if earlier is None:
                self._record(uow, by, "add_organisation", organisation=organisation_id,
                             name=organisation.name)
            elif earlier.name != organisation.name:
                self._record(uow, by, "rename_organisation", organisation=organisation_id,
                             name=organisation.name, was=earlier.name)
            uow.commit()
        return organisation

    def rename_organisation(self, organisation_id: str, name: str, *,
                            by: User | None = None) -> Organisation:
        """Give an existing organisation a new name (its id, which records hold, stays)."""
        with self._uow(read_only=True) as uow:
            if uow.organisations.get(organisation_id) is None:
                raise NotFoundError(f"no organisation {organisation_id!r}",
                                    details={"organisation": organisation_id})
        return self.add_organisation(organisation_id, name, by=by)

    def organisations(self) -> list[Organisation]:
        with self._uow(read_only=True) as uow:
            return uow.organisations.list()

    # -- users ---------------------------------------------------------------------------

    def add_user(self, username: str, name: str, organisation: str, role: str, password: str,
                 pathway_roles: Iterable[str] = (), *, by: User | None = None) -> User:
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
            self._record(uow, by, "add_user", user=username, organisation=organisation,
                         role=role)
            uow.commit()
        return user

    def users(self, organisation: str | None = None) -> list[User]:
        with self._uow(read_only=True) as uow:
            return uow.users.list(organisation)

    def get_user(self, username: str) -> User:
        with self._uow(read_only=True) as uow:
            return self._user(uow, username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is theirs and they are active, else None.

        An unknown username costs a hash check too, so timing does not tell which
        usernames exist.
        """
        with self._uow(read_only=True) as uow:
            user = uow.users.by_username(username)
        if user is None:
            self._hasher.verify(self._dummy(), password)
            return None
        if not self._hasher.verify(user.password_hash, password):
            return None
        return user if user.active else None

    def set_password(self, username: str, password: str, *, by: User | None = None,
                     action: str = "set_password") -> User:
        """Set the password and end every session of the user: whoever had a copy of a
        session cookie (the reason to change a password) is out at once."""
        if problems := _password_problems(password):
            raise _invalid("cannot set the password", {"password": problems})
        password_hash = self._hasher.hash(password)
        with self._uow() as uow:
            user = replace(self._user(uow, username), password_hash=password_hash)
            uow.users.update(user)
            uow.sessions.end_all(username, self._clock.now(), "password_changed")
            self._record(uow, by, action, user=username)
            uow.commit()
        return user

    def reset_password(self, username: str, *, by: User | None = None) -> tuple[User, str]:
        """A new random password (returned this once, kept nowhere but as its hash), which
        ends every session of the user as set_password does: for an admin to hand over."""
        self.get_user(username)  # not found: before a hash is worked out
        plain = new_password()
        return self.set_password(username, plain, by=by, action="reset_password"), plain

    def deactivate(self, username: str, *, by: User | None = None) -> User:
        """Stop the user signing in: their sessions end and their API tokens are revoked;
        their records stay. Refused for oneself and for the last active admin, so nobody
        locks the programme's admins out."""
        now = self._clock.now()
        with self._uow() as uow:
            found = self._user(uow, username)
            if by is not None and by.username == username:
                raise ConflictError("you cannot deactivate your own account",
                                    details={"username": username, "reason": "self"})
            self._keep_an_admin(uow, found, "deactivate")
            user = replace(found, active=False)
            uow.users.update(user)
            uow.sessions.end_all(username, now, "deactivated")
            for token in uow.tokens.list(username):
                if token.id is not None and token.revoked_at is None:
                    uow.tokens.revoke(token.id, now)
            if found.active:
                self._record(uow, by, "deactivate_user", user=username)
            uow.commit()
        return user

    def reactivate(self, username: str, *, by: User | None = None) -> User:
        """Let a deactivated user sign in again (with their password; their revoked API
        tokens stay revoked)."""
        with self._uow() as uow:
            found = self._user(uow, username)
            user = replace(found, active=True)
            if not found.active:
                uow.users.update(user)
                self._record(uow, by, "reactivate_user", user=username)
            uow.commit()
        return user

    def change_role(self, username: str, role: str, *, by: User | None = None) -> User:
        """Give the user another Pathways role; refused for the last active admin's own
        (someone must remain able to manage accounts)."""
        if role not in USER_ROLES:
            raise _invalid(f"cannot change the role of {username!r}",
                           {"role": [f"must be one of {', '.join(USER_ROLES)}"]})
        with self._uow() as uow:
            found = self._user(uow, username)
            if role != "admin":
                self._keep_an_admin(uow, found, "change the role of")
            user = replace(found, role=role)
            if found.role != role:
                uow.users.update(user)
                self._record(uow, by, "change_role", user=username, role=role,
                             was=found.role)
            uow.commit()
        return user

    def _keep_an_admin(self, uow: UnitOfWork, user: User, doing: str) -> None:
        """ConflictError when the user is the only active admin left."""
        if not (user.active and user.role == "admin"):
            return
        others = [u for u in uow.users.list() if u.active and u.role == "admin"
                  and u.username != user.username]
        if not others:
            raise ConflictError(
                f"cannot {doing} {user.username!r}: they are the last active admin; "
                "make someone else an admin first",
                details={"username": user.username, "reason": "last_admin"})

    # -- web sessions --------------------------------------------------------------------

    def start_session(self, username: str) -> tuple[UserSession, str]:
        """A new session for an active user: the stored record and the plain key for the
        cookie, kept nowhere else."""
        key = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._uow() as uow:
            user = self._user(uow, username)
            if not user.active:
                raise InvalidArgumentError(f"user {username!r} is deactivated",
                                           details={"username": username})
            uow.sessions.prune(now - _KEEP_SESSIONS)
            session = uow.sessions.add(UserSession(
                id=None, username=username, key_hash=token_hash(key), created_at=now,
                last_seen_at=now))
            uow.commit()
        return session, key

    def session_user(self, key: str) -> User | None:
        """The active user whose live session this key opens (noting its use), else None.
        A session past its idle time or lifetime is ended here, for good."""
        if not key:
            return None
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.sessions.with_user(token_hash(key))
            if found is None:
                return None
            session, user = found
            if session.id is None or not session.live:
                return None
            reason = self._timed_out(session, now)
            if reason is None and (user is None or not user.active):
                reason = "deactivated"
            if reason is not None:
                uow.sessions.end(session.id, now, reason)
                uow.commit()
                return None
            if now - session.last_seen_at >= _TOUCH_EVERY:
                uow.sessions.touch(session.id, now)
                uow.commit()
        return user

    def end_session(self, key: str, reason: str = "signed_out") -> None:
        """End the session this key opens (signing out); nothing when there is none."""
        if not key:
            return
        with self._uow() as uow:
            session = uow.sessions.by_hash(token_hash(key))
            if session is not None and session.id is not None:
                uow.sessions.end(session.id, self._clock.now(), reason)
                uow.commit()

    def end_sessions(self, username: str, reason: str = "signed_out_everywhere", *,
                     by: User | None = None) -> int:
        """Sign the user out everywhere; how many sessions were live."""
        with self._uow() as uow:
            self._user(uow, username)
            ended = uow.sessions.end_all(username, self._clock.now(), reason)
            self._record(uow, by, "sign_out_everywhere", user=username, sessions=ended)
            uow.commit()
        return ended

    def sessions(self, username: str | None = None) -> list[UserSession]:
        """Sessions (of one user, if given), oldest first; one past its idle time or
        lifetime shows as ended ("idle", "expired") even before anyone tries it."""
        now = self._clock.now()
        with self._uow(read_only=True) as uow:
            if username is not None:
                self._user(uow, username)
            found = uow.sessions.list(username)
        shown = []
        for session in found:
            reason = self._timed_out(session, now) if session.live else None
            shown.append(session if reason is None
                         else replace(session, ended_at=now, ended_reason=reason))
        return shown

    def _timed_out(self, session: UserSession, now: datetime) -> str | None:
        if now - session.created_at >= self.session_lifetime:
            return "expired"
        if now - session.last_seen_at >= self.session_idle:
            return "idle"
        return None

    # -- API tokens ----------------------------------------------------------------------

    def issue_token(self, username: str, name: str, *, by: User | None = None
                    ) -> tuple[ApiToken, str]:
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
            self._record(uow, by, "issue_token", user=username, token=token.id,
                         name=token.name)
            uow.commit()
        return token, plain

    def tokens(self, username: str) -> list[ApiToken]:
        with self._uow(read_only=True) as uow:
            self._user(uow, username)
            return uow.tokens.list(username)

    def user_for_token(self, plain: str) -> User | None:
        """The active user a live token belongs to, else None. Its use is noted (last_used_at)
        at most once a minute: every API request asks, and a write on each would take the
        token's row lock (SQLite's file lock) for every call of a busy integration."""
        if not plain:
            return None
        with self._uow(read_only=True) as uow:
            found = uow.tokens.with_user(token_hash(plain))
        if found is None:
            return None
        token, user = found
        if token.id is None or token.revoked_at is not None or user is None or not user.active:
            return None
        now = self._clock.now()
        if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
            with self._uow() as uow:
                uow.tokens.touch(token.id, now)
                uow.commit()
        return user

    def revoke_token(self, token_id: int, *, by: User | None = None,
                     username: str | None = None) -> None:
        """Revoke a token for good (revoking it again does nothing); with username, only
        a token of that user (else NotFoundError, as for an unknown id)."""
        with self._uow() as uow:
            if username is not None and not any(
                    t.id == token_id for t in uow.tokens.list(username)):
                raise NotFoundError(f"no token {token_id} of {username!r}",
                                    details={"token": token_id, "username": username})
            uow.tokens.revoke(token_id, self._clock.now())
            self._record(uow, by, "revoke_token", token=token_id,
                         **({"user": username} if username is not None else {}))
            uow.commit()

    # -- helpers -------------------------------------------------------------------------

    def _record(self, uow: UnitOfWork, by: User | None, action: str, **detail: object
                ) -> None:
        """An account change in the access log (no client, no reason): who, when, what."""
        uow.access_log.add(AccessEntry(
            id=None, at=self._clock.now(), username=by.username if by else COMMAND_LINE,
            organisation=by.organisation if by else "", client_id=None, action=action,
            detail=dict(detail)))

    def _user(self, uow: UnitOfWork, username: str) -> User:
        user = uow.users.by_username(username)
        if user is None:
            raise NotFoundError(f"no user {username!r}", details={"username": username})
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
