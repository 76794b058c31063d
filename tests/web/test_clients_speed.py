"""The client list and search cost the same number of SQL statements whatever the number of
clients (issue 17, item 3): the access rule, the search, the order and the page are one
query, not a check per client. On SQLite and PostgreSQL; timed in bench/clients.py."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from adapters.definition_files import publish_order, read_bundle
from engine.model import CaseRecord, Client, Consent
from tests.web.conftest import PASSWORD, Site, sign_in
from tests.web.test_dashboard_speed import counted

ROOT = Path(__file__).resolve().parents[2]

URLS = ("/clients", "/clients?q=smith", "/clients?q=smith&page=2", "/clients?page=2",
        "/api/v1/clients?q=smith&limit=5", "/api/v1/clients?limit=5&offset=5")


def grow_to(site: Site, clients: int) -> None:
    """Clients of both organisations, each with a case, some with programme consent."""
    application = site.application
    casework, engine = application.casework, application.engine
    have = len(engine.clients())
    for number in range(have, clients):
        org = ("cw", "om")[number % 2]
        client = casework.add_client(application.accounts.get_user(org),
                                     f"Client {number} {'Smith' if number % 3 else 'Jones'}")
        assert client.id is not None
        with casework.uow() as uow:
            uow.cases.add(CaseRecord(None, "gate_reception", 1, client.id, "active", {}))
            if number % 4 == 0:
                uow.consents.add(Consent(None, client.id, True, "programme", "sharing", "cw",
                                         engine.clock.now(), engine.clock.now().date()))
            uow.commit()
    with casework.uow() as uow:  # one nobody works with
        uow.clients.add(Client(None, f"Nobody's {clients}"))
        uow.commit()


def statements_per_url(site: Site, client: FlaskClient, token: str) -> dict[str, int]:
    found = {}
    for url in URLS:
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        with counted(site) as statements:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.text)
        found[url] = len(statements)
    return found


def test_statements_per_request_do_not_grow_with_the_clients(site: Site) -> None:
    application = site.application
    for path, note in publish_order(ROOT / "definitions"):
        files, main = read_bundle(path, known_pathways={"family_support",
                                                        "mental_health_referral"})
        application.engine.publish(files, main, note=note, unless_published=True)
    accounts = application.accounts
    accounts.add_organisation("st_giles_trust", "St Giles Trust")
    accounts.add_organisation("ormiston_families", "Ormiston Families")
    accounts.add_user("cw", "Casey", "st_giles_trust", "caseworker", PASSWORD)
    accounts.add_user("om", "Omar", "ormiston_families", "caseworker", PASSWORD)
    token = accounts.issue_token("cw", "tests")[1]
    browser = site.client()
    sign_in(browser, "cw")
    grow_to(site, 12)
    statements_per_url(site, browser, token)  # the first loads each version's definition once
    few = statements_per_url(site, browser, token)
    grow_to(site, 90)
    many = statements_per_url(site, browser, token)
    assert many == few
    assert max(few.values()) < 15, few
    page_two = browser.get("/clients?page=2").text
    assert "Page 2" in page_two and 'rel="prev"' in page_two and 'rel="next"' not in page_two
    # every client with a gate reception case (St Giles' pathway) is St Giles': 90 of them
    assert 'rel="next"' in browser.get("/clients").text


def test_a_page_out_of_bounds_is_refused(site: Site) -> None:
    site.application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    site.application.accounts.add_user("cw", "Casey", "st_giles_trust", "caseworker",
                                       PASSWORD)
    browser = site.client()
    sign_in(browser, "cw")
    for page in ("0", "-1", "two", "1e3", "20002"):
        response = browser.get(f"/clients?page={page}")
        assert response.status_code == 400, (page, response.status_code)
        assert "page" in response.text
    assert browser.get("/clients?page=20001").status_code == 200  # empty, not an error
