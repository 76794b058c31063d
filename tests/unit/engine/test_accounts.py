"""Accounts on the in-memory fakes: organisations, users, passwords and API tokens."""

from __future__ import annotations

import hashlib

import pytest

from engine.accounts import Accounts, token_hash
from engine.errors import ConflictError, InvalidArgumentError, NotFoundError
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

PASSWORD = "correct horse battery"


class FakeHasher:
    """Fast and transparent; counts verifications so timing-equalising can be checked."""

    def __init__(self) -> None:
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        return "fake$" + password[::-1]

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return password_hash == self.hash(password)


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def accounts(uow: FakeUnitOfWorkFactory, clock: FakeClock, hasher: FakeHasher) -> Accounts:
    accounts = Accounts(uow, clock, hasher)
    accounts.add_organisation("st_giles", "St Giles Trust")
    accounts.add_organisation("ormiston", "Ormiston Families")
    return accounts


def _fields(err: pytest.ExceptionInfo[InvalidArgumentError]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = err.value.details["fields"]
    return fields


def test_organisations_are_added_renamed_and_listed(accounts: Accounts) -> None:
    accounts.add_organisation("st_giles", "St Giles")
    assert [(o.id, o.name) for o in accounts.organisations()] == [
        ("ormiston", "Ormiston Families"), ("st_giles", "St Giles")]
    with pytest.raises(InvalidArgumentError) as err:
        accounts.add_organisation("Bad Id", " ")
    assert set(_fields(err)) == {"id", "name"}


def test_add_user_stores_a_hash_and_authenticates(accounts: Accounts, clock: FakeClock,
                                                  uow: FakeUnitOfWorkFactory) -> None:
    user = accounts.add_user("amy.b", "Amy B", "st_giles", "caseworker", PASSWORD,
                             ["gate_worker", "gate_worker", "housing_worker"])
    assert user.id is not None and user.active and user.created_at == clock.now()
    assert user.pathway_roles == ("gate_worker", "housing_worker")
    assert user.password_hash == "fake$" + PASSWORD[::-1]
    assert PASSWORD not in repr(uow.store.data)
    assert accounts.get_user("amy.b") == user
    assert accounts.authenticate("amy.b", PASSWORD) == user
    assert accounts.authenticate("amy.b", PASSWORD + "x") is None
    assert accounts.authenticate("AMY.B", PASSWORD) is None


def test_unknown_users_cost_a_hash_check_too(accounts: Accounts, hasher: FakeHasher) -> None:
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert len(hasher.verified) == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"username": "A"}, "username"),
    ({"username": "-amy"}, "username"),
    ({"username": "amy b"}, "username"),
    ({"username": "a" * 65}, "username"),
    ({"name": "  "}, "name"),
    ({"role": "boss"}, "role"),
    ({"organisation": "nowhere"}, "organisation"),
    ({"password": "short"}, "password"),
    ({"password": "x" * 2000}, "password"),
    ({"pathway_roles": ["Gate Worker"]}, "pathway_roles"),
])
def test_add_user_refuses_bad_input(accounts: Accounts, changes: dict[str, object],
                                    field: str) -> None:
    arguments: dict[str, object] = {"username": "amy", "name": "Amy", "organisation":
                                    "st_giles", "role": "caseworker", "password": PASSWORD,
                                    **changes}
    with pytest.raises(InvalidArgumentError) as err:
        accounts.add_user(**arguments)  # type: ignore[arg-type]
    assert list(_fields(err)) == [field]
    assert accounts.users() == []


def test_add_user_reports_every_bad_field(accounts: Accounts) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        accounts.add_user("A", "", "nowhere", "boss", "short")
    assert set(_fields(err)) == {"username", "name", "organisation", "role", "password"}


def test_duplicate_usernames_conflict(accounts: Accounts) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    with pytest.raises(ConflictError) as err:
        accounts.add_user("amy", "Another Amy", "ormiston", "admin", PASSWORD)
    assert err.value.details["fields"] == {"username": ["is taken"]}
    assert [u.name for u in accounts.users()] == ["Amy"]


def test_users_list_by_organisation(accounts: Accounts) -> None:
    for username, org in [("zoe", "st_giles"), ("bob", "ormiston"), ("amy", "st_giles")]:
        accounts.add_user(username, username.title(), org, "caseworker", PASSWORD)
    assert [u.username for u in accounts.users()] == ["amy", "bob", "zoe"]
    assert [u.username for u in accounts.users("st_giles")] == ["amy", "zoe"]
    assert accounts.users("nowhere") == []


def test_set_password_and_deactivate(accounts: Accounts) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "team_lead", PASSWORD)
    with pytest.raises(InvalidArgumentError):
        accounts.set_password("amy", "short")
    accounts.set_password("amy", "a new password")
    assert accounts.authenticate("amy", PASSWORD) is None
    assert accounts.authenticate("amy", "a new password") is not None

    deactivated = accounts.deactivate("amy")
    assert not deactivated.active and not accounts.get_user("amy").active
    assert accounts.authenticate("amy", "a new password") is None
    for call in (lambda: accounts.get_user("nobody"), lambda: accounts.deactivate("nobody"),
                 lambda: accounts.set_password("nobody", PASSWORD)):
        with pytest.raises(NotFoundError):
            call()


def test_tokens_are_stored_hashed_and_find_their_user(accounts: Accounts, clock: FakeClock,
                                                      uow: FakeUnitOfWorkFactory) -> None:
    amy = accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    token, plain = accounts.issue_token("amy", "laptop script")
    assert len(plain) >= 40 and plain not in repr(uow.store.data)
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest() == token_hash(plain)
    assert (token.username, token.name, token.last_used_at) == ("amy", "laptop script", None)

    used_at = clock.advance(hours=1)
    assert accounts.user_for_token(plain) == amy
    assert accounts.tokens("amy")[0].last_used_at == used_at
    clock.advance(seconds=59)  # noted at most once a minute: no write on every API call
    assert accounts.user_for_token(plain) == amy
    assert accounts.tokens("amy")[0].last_used_at == used_at
    used_again = clock.advance(seconds=1)
    assert accounts.user_for_token(plain) == amy
    assert accounts.tokens("amy")[0].last_used_at == used_again
    assert accounts.user_for_token(plain + "x") is None
    assert accounts.user_for_token("") is None

    second, second_plain = accounts.issue_token("amy", "other")
    assert second_plain != plain and second.id != token.id
    assert token.id is not None
    accounts.revoke_token(token.id)
    accounts.revoke_token(token.id)  # again: nothing changes
    assert accounts.user_for_token(plain) is None
    assert accounts.user_for_token(second_plain) == amy
    revoked = next(t for t in accounts.tokens("amy") if t.id == token.id)
    assert revoked.revoked_at == used_again


def test_token_negatives(accounts: Accounts) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    _, plain = accounts.issue_token("amy", "script")
    with pytest.raises(NotFoundError):
        accounts.issue_token("nobody", "script")
    with pytest.raises(InvalidArgumentError):
        accounts.issue_token("amy", " ")
    with pytest.raises(NotFoundError):
        accounts.revoke_token(9999)
    accounts.deactivate("amy")
    assert accounts.user_for_token(plain) is None
    with pytest.raises(InvalidArgumentError):
        accounts.issue_token("amy", "another")


def test_the_real_hasher_works_with_accounts(uow: FakeUnitOfWorkFactory,
                                             clock: FakeClock) -> None:
    from adapters.passwords import WerkzeugPasswordHasher

    hasher = WerkzeugPasswordHasher("pbkdf2:sha256:1000")
    accounts = Accounts(uow, clock, hasher)
    accounts.add_organisation("st_giles", "St Giles Trust")
    user = accounts.add_user("amy", "Amy", "st_giles", "admin", PASSWORD)
    assert user.password_hash.startswith("pbkdf2:sha256:1000$")
    assert PASSWORD not in user.password_hash
    assert accounts.authenticate("amy", PASSWORD) == user
    assert accounts.authenticate("amy", "wrong password") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert not hasher.verify("not a hash", PASSWORD) and not hasher.verify("", PASSWORD)
    assert WerkzeugPasswordHasher().verify(WerkzeugPasswordHasher().hash(PASSWORD), PASSWORD)


# -- web sessions ---------------------------------------------------------------------------


def test_a_session_key_is_stored_only_as_its_hash(accounts: Accounts,
                                                  uow: FakeUnitOfWorkFactory) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    session, key = accounts.start_session("amy")
    assert session.key_hash == token_hash(key) and key not in repr(uow.store.data)
    assert accounts.session_user(key) == accounts.get_user("amy")
    assert accounts.session_user("") is None and accounts.session_user(key + "x") is None


def test_sessions_idle_out_and_expire_and_stay_ended(accounts: Accounts,
                                                     clock: FakeClock) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    _, idle_key = accounts.start_session("amy")
    _, busy_key = accounts.start_session("amy")
    clock.advance(minutes=29, seconds=59)
    assert accounts.session_user(busy_key) is not None
    clock.advance(seconds=1)
    assert accounts.session_user(idle_key) is None  # 30 minutes without use
    assert [s.ended_reason for s in accounts.sessions("amy")] == ["idle", None]
    for _ in range(19):  # 9 h 41 min
        clock.advance(minutes=29)
        assert accounts.session_user(busy_key) is not None
    clock.advance(minutes=19)  # 10 h after sign-in
    assert accounts.session_user(busy_key) is None
    assert [s.ended_reason for s in accounts.sessions("amy")] == ["idle", "expired"]
    clock.advance(hours=-11)
    assert accounts.session_user(busy_key) is None


def test_a_listed_session_past_its_time_shows_as_ended_before_it_is_tried(
        accounts: Accounts, clock: FakeClock) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    accounts.start_session("amy")
    assert [s.live for s in accounts.sessions()] == [True]
    clock.advance(minutes=31)
    assert [(s.live, s.ended_reason) for s in accounts.sessions()] == [(False, "idle")]


def test_last_seen_is_written_at_most_once_a_minute(accounts: Accounts, clock: FakeClock,
                                                    uow: FakeUnitOfWorkFactory) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    _, key = accounts.start_session("amy")
    commits = uow.store.commits
    for _ in range(5):
        clock.advance(seconds=10)
        accounts.session_user(key)
    assert uow.store.commits == commits
    clock.advance(seconds=10)
    accounts.session_user(key)
    assert uow.store.commits == commits + 1


def test_password_deactivation_and_sign_out_everywhere_end_sessions(
        accounts: Accounts) -> None:
    for name in ("amy", "bob"):
        accounts.add_user(name, name.title(), "st_giles", "caseworker", PASSWORD)
    keys = [accounts.start_session("amy")[1] for _ in range(2)]
    _, bob = accounts.start_session("bob")
    accounts.set_password("amy", "another good password")
    assert all(accounts.session_user(k) is None for k in keys)
    keys = [accounts.start_session("amy")[1] for _ in range(3)]
    accounts.end_session(keys[0])
    assert accounts.session_user(keys[0]) is None and accounts.session_user(keys[1])
    assert accounts.end_sessions("amy") == 2
    assert accounts.end_sessions("amy") == 0
    _, key = accounts.start_session("amy")
    _, token = accounts.issue_token("amy", "case system")
    accounts.deactivate("amy")
    assert accounts.session_user(key) is None and accounts.user_for_token(token) is None
    assert [t.revoked_at is not None for t in accounts.tokens("amy")] == [True]
    assert [s.ended_reason for s in accounts.sessions("amy")] == [
        "password_changed", "password_changed", "signed_out", "signed_out_everywhere",
        "signed_out_everywhere", "deactivated"]
    with pytest.raises(InvalidArgumentError):
        accounts.start_session("amy")
    with pytest.raises(NotFoundError):
        accounts.end_sessions("nobody")
    assert accounts.session_user(bob) is not None


def test_old_sessions_are_forgotten_after_30_days(accounts: Accounts, clock: FakeClock) -> None:
    accounts.add_user("amy", "Amy", "st_giles", "caseworker", PASSWORD)
    accounts.start_session("amy")
    clock.advance(days=31)
    accounts.start_session("amy")
    assert len(accounts.sessions("amy")) == 1


# -- what admins change (web /admin/users and `pathways users ...` alike) ----------------------


def _admins(accounts: Accounts) -> None:
    accounts.add_user("ada", "Ada Admin", "st_giles", "admin", PASSWORD)
    accounts.add_user("amy", "Amy Case", "st_giles", "caseworker", PASSWORD)


def test_the_last_active_admin_is_neither_demoted_nor_deactivated(accounts: Accounts) -> None:
    _admins(accounts)
    ada = accounts.get_user("ada")
    for attempt in (lambda: accounts.change_role("ada", "caseworker"),
                    lambda: accounts.deactivate("ada"),
                    lambda: accounts.change_role("ada", "designer", by=ada)):
        with pytest.raises(ConflictError) as err:
            attempt()
        assert err.value.details["reason"] == "last_admin"
        assert "last active admin" in err.value.message
    with pytest.raises(ConflictError) as err:
        accounts.deactivate("ada", by=ada)  # oneself, whoever else is an admin
    assert err.value.details["reason"] == "self"
    accounts.change_role("amy", "admin", by=ada)
    accounts.change_role("ada", "team_lead", by=ada)  # someone else is an admin now
    assert accounts.get_user("ada").role == "team_lead"
    with pytest.raises(ConflictError):
        accounts.deactivate("amy")  # amy is now the last one
    assert accounts.get_user("amy").active


def test_a_deactivated_admin_does_not_count_and_may_be_demoted(accounts: Accounts) -> None:
    _admins(accounts)
    accounts.add_user("abe", "Abe Admin", "st_giles", "admin", PASSWORD)
    accounts.deactivate("abe")
    accounts.change_role("abe", "caseworker")  # inactive: no lock-out
    with pytest.raises(ConflictError):
        accounts.change_role("ada", "caseworker")


def test_role_change_checks_the_role_and_reactivation_lets_in(accounts: Accounts) -> None:
    _admins(accounts)
    with pytest.raises(InvalidArgumentError) as err:
        accounts.change_role("amy", "boss")
    assert set(_fields(err)) == {"role"}
    with pytest.raises(NotFoundError):
        accounts.change_role("nobody", "admin")
    accounts.deactivate("amy")
    assert accounts.authenticate("amy", PASSWORD) is None
    assert accounts.reactivate("amy").active
    assert accounts.authenticate("amy", PASSWORD) is not None


def test_reset_password_makes_one_within_the_rules_and_ends_sessions(
        accounts: Accounts) -> None:
    _admins(accounts)
    _, key = accounts.start_session("amy")
    user, plain = accounts.reset_password("amy", by=accounts.get_user("ada"))
    assert len(plain) >= 20 and user.username == "amy"
    assert accounts.session_user(key) is None
    assert accounts.authenticate("amy", PASSWORD) is None
    assert accounts.authenticate("amy", plain) is not None
    assert accounts.reset_password("amy")[1] != plain
    with pytest.raises(NotFoundError):
        accounts.reset_password("nobody")


def test_a_token_is_revoked_only_through_its_own_user(accounts: Accounts) -> None:
    _admins(accounts)
    token, plain = accounts.issue_token("amy", "sync")
    assert token.id is not None
    with pytest.raises(NotFoundError):
        accounts.revoke_token(token.id, username="ada")
    assert accounts.user_for_token(plain) is not None
    accounts.revoke_token(token.id, username="amy")
    assert accounts.user_for_token(plain) is None


def test_adding_an_existing_organisation_is_refused_when_asked(accounts: Accounts) -> None:
    with pytest.raises(ConflictError):
        accounts.add_organisation("st_giles", "Other", exists_ok=False)
    with pytest.raises(NotFoundError):
        accounts.rename_organisation("nowhere", "Somewhere")
    assert accounts.rename_organisation("st_giles", "St Giles").name == "St Giles"


def test_every_change_is_in_the_access_log_with_who_made_it(
        accounts: Accounts, uow: FakeUnitOfWorkFactory) -> None:
    _admins(accounts)
    ada = accounts.get_user("ada")
    accounts.change_role("amy", "team_lead", by=ada)
    token, _ = accounts.issue_token("amy", "sync", by=ada)
    assert token.id is not None
    accounts.revoke_token(token.id, by=ada, username="amy")
    accounts.reset_password("amy", by=ada)
    accounts.deactivate("amy", by=ada)
    accounts.reactivate("amy", by=ada)
    accounts.rename_organisation("ormiston", "Ormiston", by=ada)
    with uow() as work:
        entries = work.access_log.list()
    by_ada = [(e.action, e.username, e.organisation, e.client_id, e.reason)
              for e in entries if e.username == "ada"]
    assert [a for a, *_ in by_ada] == [
        "change_role", "issue_token", "revoke_token", "reset_password", "deactivate_user",
        "reactivate_user", "rename_organisation"]
    assert {tuple(rest) for _, *rest in by_ada} == {("ada", "st_giles", None, None)}
    assert {e.action for e in entries if e.username == "command line"} == {
        "add_organisation", "add_user"}
    assert not any(e.action == "change_role" and e.detail != {
        "user": "amy", "role": "team_lead", "was": "caseworker"} for e in entries)
