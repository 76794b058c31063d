"""The dashboard's cost does not grow with the number of cases (issue 12, item 9): a page,
each chart and each CSV runs the same number of SQL statements for 20 cases as for 100, and
what it computed is reused until the data changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from tests.web.conftest import Site, sign_in
from tests.web.test_dashboard import _reconvictions, programme, released  # noqa: F401

URLS = ("/dashboard?pathway=gate_reception&outcome=met_at_gate",
        "/dashboard?pathway=gate_reception&outcome=reconviction",
        "/dashboard/versions.svg?pathway=gate_reception&outcome=met_at_gate",
        "/dashboard/activity.svg?pathway=gate_reception",
        "/dashboard/versions.csv?pathway=gate_reception&outcome=met_at_gate",
        "/dashboard/activity.csv?pathway=gate_reception",
        "/dashboard/cohorts.csv")


@contextmanager
def counted(site: Site) -> Iterator[list[str]]:
    """Every SQL statement the application's database runs inside the block."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # not SQLite's switch of a pooled connection to read-only and back: it depends on
        # which connection a thread was given (a page computes parts side by side), not on
        # the work asked for
        if not statement.startswith("PRAGMA query_only"):
            statements.append(statement)

    engine = site.application.database
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def grow_to(site: Site, cases: int) -> None:
    """More released clients with gate reception cases (and a reconviction each third)."""
    have = len(site.application.engine.list_cases(pathway="gate_reception"))
    rows = []
    for number in range(have, cases):
        client = released(site, f"Client {number}", "2026-01-10", number % 3 == 0,
                          version=1 + number % 2)
        if number % 3 == 1:
            rows.append(f"{client},2026-02-01,2026-03-01")
    if rows:
        _reconvictions(site, f"reconvictions-{cases}.csv", rows, date(2026, 6, 1))


def statements_per_url(site: Site, client: FlaskClient) -> dict[str, int]:
    found = {}
    for url in URLS:
        with counted(site) as statements:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found[url] = len(statements)
    return found


def test_statements_per_request_do_not_grow_with_the_cases(programme: Site) -> None:  # noqa: F811 - a fixture
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    few = statements_per_url(programme, client)
    grow_to(programme, 100)
    many = statements_per_url(programme, client)
    assert many == few
    assert max(few.values()) < 80, few  # cold: nothing computed yet


def test_figures_are_reused_until_the_data_changes(programme: Site) -> None:  # noqa: F811 - a fixture
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    url = URLS[4]
    first = client.get(url).text
    with counted(programme) as again:
        assert client.get(url).text == first
    grow_to(programme, 23)  # a change: the figures are computed afresh
    with counted(programme) as changed:
        after = client.get(url).text
    assert after != first and len(changed) > len(again)


def test_the_cohort_results_read_each_table_once(programme: Site) -> None:  # noqa: F811
    """Every cohort and measure comes from one read of the clients and one of each kind of
    outcome event, not one per cohort and measure (each is a read of every client)."""
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    with counted(programme) as statements:
        assert client.get("/dashboard/cohorts.csv").status_code == 200
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert sum(1 for s in reads if "FROM clients" in s) == 1, reads
    assert sum(1 for s in reads if "FROM outcome_events" in s) == 1, reads
    # of each event only what a measure counts, of each client the date as text: no JSON
    # document per row for the driver to parse (most of the read's time at 100,000 clients)
    assert not [s for s in reads if "FROM outcome_events" in s and "detail" in s], reads
    assert not [s for s in reads if "FROM clients" in s and "fields ->" in s], reads


def test_the_page_s_images_and_files_reuse_its_figures(programme: Site) -> None:  # noqa: F811
    """The page names its outcome; its activity chart and CSV do not (they do not depend on
    it): all of them are the figures the page computed, not read again."""
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    page = client.get("/dashboard?pathway=gate_reception")
    assert page.status_code == 200
    for url in ("/dashboard/activity.svg?pathway=gate_reception",
                "/dashboard/activity.csv?pathway=gate_reception",
                "/dashboard/versions.svg?pathway=gate_reception&outcome=reconviction"):
        with counted(programme) as statements:
            assert client.get(url).status_code == 200, url
        assert not [s for s in statements if "FROM events" in s], url


def test_no_figure_reads_the_events_cold(programme: Site) -> None:  # noqa: F811 - a fixture
    """Cold (the first request after a change), the page's figures, its charts and CSVs
    read the summaries kept as events are written, never the pathway's events (a read of
    every event of the pathway is what took minutes at 100,000 clients). The reads of
    events left are engine.outcomes' (cohort results and measured outcomes): of the
    outcome_recorded events only (of the outcome measured, found by its summary), which no
    summary serves yet."""
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    for number, url in enumerate(URLS):
        programme.application.engine.add_client(f"Change {number}")  # a new revision
        with counted(programme) as statements:
            assert client.get(url).status_code == 200, url
        reads = [s for s in statements if "FROM events" in s or "JOIN events" in s]
        assert all("events.type IN" in s or "events.type = " in s for s in reads), url


def test_a_chart_or_file_computes_only_what_it_shows(programme: Site) -> None:  # noqa: F811
    """Cold, the activity chart and CSV read the activity summaries and nothing of the cases'
    outcomes or steps; the version chart and CSV read no activity and no answer's values
    (no split asked for): each costs what it shows, not the whole page's figures."""
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    outcome_tables = ("summary_events", "summary_case_steps", "summary_cases")
    for number, url in enumerate(URLS):
        programme.application.engine.add_client(f"Change {number}")  # a new revision
        with counted(programme) as statements:
            assert client.get(url).status_code == 200, url
        if "/activity." in url:
            assert any("summary_activity" in s for s in statements), url
            assert not [s for s in statements if any(t in s for t in outcome_tables)], url
        elif "/versions." in url:
            assert any("summary_events" in s for s in statements), url
            assert not [s for s in statements if "summary_activity" in s], url
            assert not [s for s in statements if "AS field" in s], url  # answer_values


def test_the_page_reads_no_case_data_cold(programme: Site) -> None:  # noqa: F811 - a fixture
    """Cold, the page (and the page as it opens, on the outcome paid on) finds which answers
    are worth splitting by from their values kept as cases are written (summary_answers),
    not by reading every case's data (the statement that took most of a cold page's time at
    100,000 clients: each case's data decompressed and unpacked)."""
    client = programme.client()
    sign_in(client, "cam")
    grow_to(programme, 20)
    for number, url in enumerate(("/dashboard?pathway=gate_reception&outcome=met_at_gate",
                                  "/dashboard?pathway=gate_reception")):
        programme.application.engine.add_client(f"Change {number}")  # a new revision
        with counted(programme) as statements:
            assert client.get(url).status_code == 200, url
        assert not [s for s in statements if "cases.data" in s], url
        assert any("summary_answers" in s for s in statements), url
