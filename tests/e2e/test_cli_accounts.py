"""`pathways orgs …` and `pathways users …` end to end, on SQLite and PostgreSQL.

Passwords go in on stdin (--password-stdin) or at a hidden prompt, never as arguments.
What the CLI stored is checked through the application's Accounts: the password signs in,
the printed token finds its user, and nothing printed holds a hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from click.testing import CliRunner

from adapters.bootstrap import bootstrap
from adapters.cli import cli as pathways_cli
from adapters.settings import Settings
from tests.e2e.test_cli import Cli, Outcome

PASSWORD = "a long enough password"
USER_KEYS = {"username", "name", "organisation", "role", "pathway_roles", "active"}


def run_with_input(cli: Cli, args: Sequence[str], stdin: str) -> Outcome:
    """`pathways --db URL --json ARGS...` with stdin fed from `stdin`."""
    return cli.run_argv(cli.argv(["--json", *args]), stdin=stdin)


def add_user(cli: Cli, username: str, *options: str, password: str = PASSWORD) -> Outcome:
    return run_with_input(cli, ["users", "add", username, "--password-stdin", *options],
                          password + "\n")


def test_organisations_users_and_tokens(cli: Cli) -> None:
    # organisations
    added, _ = cli.many(["orgs", "add", "st_giles", "--name", "St Giles Trust"],
                        ["orgs", "add", "ormiston", "--name", "Ormiston Families"])
    assert added.ok() == {"id": "st_giles", "name": "St Giles Trust"}
    assert cli.json("orgs", "list") == [{"id": "ormiston", "name": "Ormiston Families"},
                                        {"id": "st_giles", "name": "St Giles Trust"}]

    # users
    amy = add_user(cli, "amy", "--name", "Amy Bell", "--org", "st_giles", "--role",
                   "caseworker", "--pathway-role", "gate_worker", "--pathway-role",
                   "housing_worker").ok()
    assert amy == {"username": "amy", "name": "Amy Bell", "organisation": "st_giles",
                   "role": "caseworker", "pathway_roles": ["gate_worker", "housing_worker"],
                   "active": True}
    bob = add_user(cli, "bob", "--name", "Bob", "--org", "ormiston", "--role",
                   "team_lead").ok()
    assert set(bob) == USER_KEYS and bob["pathway_roles"] == []

    everyone, st_giles = cli.many(["users", "list"], ["users", "list", "--org", "st_giles"])
    assert [u["username"] for u in everyone.ok()] == ["amy", "bob"]
    assert st_giles.ok() == [amy]
    assert all(set(u) == USER_KEYS for u in everyone.ok())

    # tokens: printed once, never again
    issued = cli.json("users", "tokens", "add", "amy", "--name", "reporting script")
    plain = issued["token"]
    assert isinstance(plain, str) and len(plain) >= 40
    listed = cli.json("users", "tokens", "list", "amy")
    assert [t["name"] for t in listed] == ["reporting script"]
    assert plain not in str(listed) and "hash" not in str(listed)

    # what was stored works, and holds no password
    app = bootstrap(Settings(database_url=str(cli.database_url)), migrate=False)
    try:
        accounts = app.accounts
        user = accounts.authenticate("amy", PASSWORD)
        assert user is not None and user.role == "caseworker"
        assert PASSWORD not in user.password_hash
        assert accounts.authenticate("amy", PASSWORD + "!") is None
        assert accounts.authenticate("nobody", PASSWORD) is None
        found = accounts.user_for_token(plain)
        assert found is not None and found.username == "amy"

        revoked = cli.json("users", "tokens", "revoke", str(issued["id"]))
        assert revoked == {"id": issued["id"], "revoked": True}
        assert accounts.user_for_token(plain) is None

        assert cli.json("users", "deactivate", "bob")["active"] is False
        assert accounts.authenticate("bob", PASSWORD) is None
    finally:
        app.close()


def test_account_commands_refuse_bad_input(cli: Cli) -> None:
    cli.json("orgs", "add", "st_giles", "--name", "St Giles Trust")
    add_user(cli, "amy", "--name", "Amy", "--org", "st_giles", "--role", "caseworker").ok()

    base = ["--name", "Someone", "--org", "st_giles", "--role", "caseworker"]
    bad_role = add_user(cli, "zed", "--name", "Zed", "--org", "st_giles", "--role", "boss")
    unknown_org = add_user(cli, "zed", "--name", "Zed", "--org", "nowhere", "--role",
                           "admin")
    short = add_user(cli, "zed", *base, password="short")
    bad_name = add_user(cli, "Zed Smith", *base)
    duplicate = add_user(cli, "amy", *base)
    assert bad_role.error("invalid_argument")["details"]["fields"].keys() == {"role"}
    assert unknown_org.error("invalid_argument")["details"]["fields"].keys() == {
        "organisation"}
    assert short.error("invalid_argument")["details"]["fields"].keys() == {"password"}
    assert bad_name.error("invalid_argument")["details"]["fields"].keys() == {"username"}
    assert duplicate.error("conflict")["details"]["fields"] == {"username": ["is taken"]}
    assert PASSWORD not in duplicate.stdout + duplicate.stderr

    # a password is never taken as an argument
    as_argument = cli.run("users", "add", "zed", *base, "--password", PASSWORD)
    assert as_argument.returncode == 2 and "--password" in as_argument.stderr

    unknown_user, unknown_token = cli.many(
        ["users", "tokens", "add", "nobody", "--name", "script"],
        ["users", "tokens", "revoke", "9999"])
    unknown_user.error("not_found")
    unknown_token.error("not_found")
    assert [u["username"] for u in cli.json("users", "list")] == ["amy"]


def test_users_add_asks_for_the_password_twice_without_echo(cli: Cli) -> None:
    """Without --password-stdin the password is prompted for, hidden, and confirmed."""
    cli.json("orgs", "add", "st_giles", "--name", "St Giles Trust")
    result = CliRunner().invoke(
        pathways_cli,
        ["--db", str(cli.database_url), "--json", "users", "add", "amy", "--name", "Amy",
         "--org", "st_giles", "--role", "admin"],
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert "do not match" in result.output
    app = bootstrap(Settings(database_url=str(cli.database_url)), migrate=False)
    try:
        assert app.accounts.authenticate("amy", PASSWORD) is not None
    finally:
        app.close()


def test_role_and_reactivation_keep_the_last_admin_as_the_web_does(cli: Cli) -> None:
    """`users role`, `users deactivate` and `users reactivate` refuse what /admin/users
    refuses (the same engine service), and each change is in the access report."""
    cli.json("orgs", "add", "st_giles", "--name", "St Giles Trust")
    add_user(cli, "ada", "--name", "Ada", "--org", "st_giles", "--role", "admin").ok()
    add_user(cli, "amy", "--name", "Amy", "--org", "st_giles", "--role", "caseworker").ok()
    demoted, deactivated, bad_role = cli.many(
        ["users", "role", "ada", "caseworker"], ["users", "deactivate", "ada"],
        ["users", "role", "amy", "boss"])
    for refused in (demoted, deactivated):
        error = refused.error("conflict")
        assert error["details"]["reason"] == "last_admin" and "last active admin" in \
            error["message"]
    assert bad_role.error("invalid_argument")["details"]["fields"].keys() == {"role"}
    assert cli.json("users", "role", "amy", "admin")["role"] == "admin"
    assert cli.json("users", "deactivate", "ada")["active"] is False
    assert cli.json("users", "reactivate", "ada")["active"] is True
    report = cli.json("access", "report", "--user", "command line", "--org", "")
    assert [r["viewed"] for r in report][-3:] == [
        "role of amy changed from caseworker to admin", "user ada deactivated",
        "user ada reactivated"]
    assert cli.json("access", "report", "--until", "2000-01-01") == []
    cli.run("access", "report", "--until", "soon").error("invalid_argument")
