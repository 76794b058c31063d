"""What one task completion through the API asks of the database, around the engine's own
write: the token and its user in one query, then one transaction for the access check, the
drafts, the engine's command and the next task (the case read once). Counts, not timings;
bench/load.py measures the rate."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from adapters.bootstrap import Application, bootstrap
from adapters.settings import Settings
from bench.load import prepare
from web import create_app

_FIRST_TABLE = re.compile(r"^\s*(SELECT|DELETE)\b.*?\bFROM\s+\"?(\w+)\"?", re.S | re.I)


@contextmanager
def recorded(application: Application) -> Iterator[tuple[list[str], list[int]]]:
    """The statements run, and the transactions begun, inside the block."""
    statements: list[str] = []
    begun = [0]

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        statements.append(text)

    def begin(_conn: Any) -> None:
        begun[0] += 1

    event.listen(application.database, "before_cursor_execute", statement)
    event.listen(application.database, "begin", begin)
    try:
        yield statements, begun
    finally:
        event.remove(application.database, "before_cursor_execute", statement)
        event.remove(application.database, "begin", begin)


def _reads(statements: list[str]) -> Counter[tuple[str, str]]:
    """(SELECT or DELETE, the first table named after FROM) -> how many."""
    found: Counter[tuple[str, str]] = Counter()
    for text in statements:
        match = _FIRST_TABLE.match(text)
        if match is not None:
            found[(match.group(1).upper(), match.group(2).lower())] += 1
    return found


def test_an_api_completion_is_one_read_and_one_transaction(migrated_database_url: str
                                                            ) -> None:
    prepared = prepare(migrated_database_url, 10)  # linear10, a caseworker's token, a case
    application = bootstrap(Settings(database_url=migrated_database_url, secret_key="test"))
    try:
        client = create_app(application, test_config={"TESTING": True}).test_client()
        headers = {"Authorization": f"Bearer {prepared.token}"}

        def complete(task: str) -> str:
            response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {}},
                                   headers=headers)
            assert response.status_code == 200, response.json
            return str(response.json["next_task"]["id"])  # type: ignore[index]

        second = complete(prepared.tasks[0])
        with recorded(application) as (statements, begun):
            complete(second)
        reads = _reads(statements)
        assert begun[0] == 2  # the token's read; the check, the command and the next task
        assert reads[("SELECT", "api_tokens")] == 1 and reads[("SELECT", "users")] == 0
        assert reads[("SELECT", "inbox_tasks")] == 2  # the task checked, the next task
        assert reads[("SELECT", "access_log")] == 1
        assert reads[("DELETE", "drafts")] == 1
        assert reads[("SELECT", "cases")] <= 2  # the client's cases once (+ summaries' join)
    finally:
        application.close()
