"""The designer's pathway pages (issue 14, item 1): every pathway with its latest version,
its versions with their notes, authors, published dates and cases each, and how new cases
are given a version, for designers, commissioners and admins; nobody else, and nothing a
pathway's author wrote is run as markup."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.bundles import bundle
from tests.web.conftest import PASSWORD, Site, force_sign_in


def _signed_in(site: Site, role: str) -> FlaskClient:
    accounts = site.application.accounts
    accounts.add_organisation("st_giles_trust", "St Giles Trust")
    accounts.add_user(f"the_{role}", f"The {role}", "st_giles_trust", role, PASSWORD)
    client = site.client()
    force_sign_in(client, site, f"the_{role}")
    return client


def _cells(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row {row_id}"
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def _two_versions_and_cases(site: Site) -> None:
    engine = site.application.engine
    files, main = bundle("gate_reception")
    engine.publish(files, main, note="First <b>gate</b> service", author="dana")
    changed = {**files, main: files[main].replace('name="', 'name="New ', 1)}
    engine.publish(changed, main, note="Mental health support added", author="eli")
    for number in range(3):
        engine.start_case("gate_reception", engine.add_client(f"C{number}").id or 0,
                          actor="dana")
    engine.set_allocation("gate_reception", "split", weights={1: 1, 2: 3}, seed="trial-1",
                          actor="dana")
    engine.start_case("gate_reception", engine.add_client("Split").id or 0, actor="dana")


@pytest.mark.parametrize("role", ["designer", "commissioner", "admin"])
def test_the_pathways_list_shows_each_pathway_its_versions_cases_and_policy(
        site: Site, role: str) -> None:
    _two_versions_and_cases(site)
    client = _signed_in(site, role)
    page = client.get("/pathways")
    assert page.status_code == 200
    cells = _cells(page.text, "pathway-gate_reception")
    assert cells[0] == "gate reception" and cells[1] == "v2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", cells[2])
    assert cells[3:6] == ["eli", "Mental health support added", "2"]
    assert cells[6] == "4"  # every case, of every version
    assert cells[7] == "split at random: v1 25%, v2 75% (seed trial-1)"
    assert 'href="/pathways/gate_reception"' in page.text
    assert 'aria-current="page">Pathways</a>' in page.text


def test_a_pathway_page_lists_every_version_newest_first_with_its_cases(site: Site) -> None:
    _two_versions_and_cases(site)
    page = _signed_in(site, "designer").get("/pathways/gate_reception")
    assert page.status_code == 200
    v1, v2 = _cells(page.text, "version-1"), _cells(page.text, "version-2")
    assert page.text.index('id="version-2"') < page.text.index('id="version-1"')
    assert v2[0] == "v2" and v2[2:4] == ["eli", "Mental health support added"]
    assert v1[0] == "v1" and v1[2] == "dana"
    cases = int(v1[4]) + int(v2[4])
    assert cases == 4 and int(v2[4]) >= 3  # three on the latest, one by the split
    assert "split at random: v1 25%, v2 75% (seed trial-1)" in page.text
    assert "by dana" in page.text  # who set the policy


def test_what_a_designer_wrote_is_shown_as_text_not_markup(site: Site) -> None:
    _two_versions_and_cases(site)
    page = _signed_in(site, "designer").get("/pathways/gate_reception")
    assert "First &lt;b&gt;gate&lt;/b&gt; service" in page.text
    assert "<b>gate</b>" not in page.text


def test_a_pathway_that_is_not_published_is_not_found(site: Site) -> None:
    client = _signed_in(site, "designer")
    assert client.get("/pathways").status_code == 200  # none yet: says so
    assert "No pathway is published yet" in client.get("/pathways").text
    missing = client.get("/pathways/<script>alert(1)</script>")
    assert missing.status_code == 404
    assert "<script>alert(1)" not in missing.text


def test_a_fixed_or_latest_policy_is_said_in_words(site: Site) -> None:
    _two_versions_and_cases(site)
    engine = site.application.engine
    client = _signed_in(site, "designer")
    engine.set_allocation("gate_reception", "fixed", version=1, actor="dana")
    assert "every new case on v1" in client.get("/pathways/gate_reception").text
    engine.set_allocation("gate_reception", "latest", actor="dana")
    assert "every new case on the latest version" in client.get("/pathways").text


@pytest.mark.parametrize("role", ["caseworker", "team_lead"])
def test_case_staff_may_not_see_the_designer_pages(site: Site, role: str) -> None:
    _two_versions_and_cases(site)
    client = _signed_in(site, role)
    for url in ("/pathways", "/pathways/gate_reception"):
        assert client.get(url).status_code == 403, url
    assert 'href="/pathways"' not in client.get("/inbox").text


def test_nobody_signed_in_is_sent_to_sign_in(site: Site) -> None:
    _two_versions_and_cases(site)
    for url in ("/pathways", "/pathways/gate_reception"):
        response = site.client().get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
