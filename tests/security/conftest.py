"""The security suite reuses the web app fixture (`site`, on SQLite and PostgreSQL) and the
real CLI's fixtures (`cli`, `fresh_cli`) of the web and end-to-end tests."""

from tests.e2e.conftest import base_env, cli, fresh_cli
from tests.web.conftest import site

__all__ = ["base_env", "cli", "fresh_cli", "site"]
