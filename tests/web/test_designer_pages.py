"""The designer's pathway pages (issue 14, item 1): every pathway with its latest version,
its versions with their notes, authors, published dates and cases each, and how new cases
are given a version, for designers, commissioners and admins; nobody else, and nothing a
pathway's author wrote is run as markup."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from dsl import compile_pathway, load_pathway
from tests.bundles import bundle
from tests.web.conftest import PASSWORD, Site, csrf_token, force_sign_in
from tests.web.test_incidents import org_wait


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
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", cells[2])
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


# -- a version's diagram and its live counts (item 2) ------------------------------------------


def _cases_at_the_first_step(site: Site, cases: int) -> str:
    engine = site.application.engine
    files, main = bundle("gate_reception")
    engine.publish(files, main, note="First", author="dana")
    started = [engine.start_case("gate_reception", engine.add_client(f"C{n}").id or 0)
               for n in range(cases)]
    return started[0].tasks[0].task.step


def test_a_version_s_counts_are_its_open_tasks_overdue_ones_and_cases_in_error(
        site: Site) -> None:
    step = _cases_at_the_first_step(site, 3)
    client = _signed_in(site, "designer")
    counts = client.get("/pathways/gate_reception/v1/counts.json")
    assert counts.status_code == 200
    found = counts.get_json()
    assert found["pathway"] == "gate_reception" and found["version"] == 1
    assert found["steps"][step]["waiting"] == 3
    assert found["steps"][step]["error"] == 0
    assert found["steps"][step]["title"]
    assert sum(s["waiting"] for s in found["steps"].values()) == 3
    page = client.get("/pathways/gate_reception/v1")
    assert page.status_code == 200
    assert _cells(page.text, f"step-{step}")[1:] == ["3", "0", "0"]
    assert 'src="/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"' in page.text


def _a_case_in_error(site: Site) -> tuple[int, str]:
    engine = site.application.engine
    compiled = compile_pathway(org_wait("st_giles_trust"))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Dee Vane")
    case = engine.start_case("st_giles_trust_wait", client.id or 0)
    done = engine.complete_task(case.tasks[0].task.id, {"notes": "seen"})
    assert done.status == "error"
    stored = engine.get_case(case.case.id or 0).case
    return case.case.id or 0, str((stored.error or {}).get("step"))


def test_cases_in_error_are_counted_at_their_step_and_listed_only_to_who_may_open_them(
        site: Site) -> None:
    case_id, step = _a_case_in_error(site)
    url = "/pathways/st_giles_trust_wait/v1"
    designer = _signed_in(site, "designer")
    assert designer.get(f"{url}/counts.json").get_json()["steps"][step]["error"] == 1
    seen = designer.get(url).text
    assert _cells(seen, f"step-{step}")[3].split()[:1] == ["1"]  # then the retry form
    assert f"case {case_id}" not in seen and "Dee Vane" not in seen
    admin = site.client()
    site.application.accounts.add_user("the_admin", "Admin", "st_giles_trust", "admin",
                                       PASSWORD)
    force_sign_in(admin, site, "the_admin")
    listed = admin.get(url).text
    assert " ".join(_cells(listed, f"step-{step}")[3].split()).startswith(
        f"1: case {case_id} retry on")
    assert f'href="/admin/incidents#case-{case_id}"' in listed


def _fixed_wait(site: Site, *, sensitive: bool = False) -> None:
    """Version 2 of the failing wait: it falls back to a date when the client has none."""
    from tests.incident_bundles import dated_wait

    doc = org_wait("st_giles_trust")
    doc["steps"][1]["until"] = dated_wait("2030-01-01")["steps"][1]["until"]
    if sensitive:
        doc["sensitive"] = "health"
    compiled = compile_pathway(doc)
    site.application.engine.publish(compiled.files(), compiled.bpmn_file)


def test_a_designer_retries_the_cases_stopped_at_a_step_on_a_fixed_version(
        site: Site) -> None:
    """Item 6 for designers: they fix the definition, publish it, and run the failed step
    again for the cases stopped there, on the new version, without opening a case (counts
    only); each retry is in the access log under their name."""
    case_id, step = _a_case_in_error(site)
    _fixed_wait(site)
    url = "/pathways/st_giles_trust_wait/v1"
    designer = _signed_in(site, "designer")
    page = designer.get(url).text
    assert f'action="{url}/steps/{step}/retry"' in page and "Retry 1" in page
    assert designer.post(f"{url}/steps/{step}/retry", data={"to": "2"}).status_code == 400
    token = csrf_token(page)
    same = designer.post(f"{url}/steps/{step}/retry", data={"csrf_token": token, "to": "1"},
                         follow_redirects=True)
    assert "Retried 1 case(s) at this step on v1: 0 running again, 1 still in error." in (
        same.text)
    assert f"case {case_id}" not in same.text
    fixed = designer.post(f"{url}/steps/{step}/retry", data={"csrf_token": token, "to": "2"})
    assert fixed.status_code == 302 and fixed.headers["Location"].endswith(f"#step-{step}")
    case = site.application.engine.get_case(case_id).case
    assert (case.status, case.version) == ("active", 2)
    assert "Retried 1 case(s) at this step on v2: 1 running again" in designer.get(url).text
    with site.application.engine.uow(read_only=True) as uow:
        logged = [(e.username, e.detail.get("case")) for e in uow.access_log.list(
            client_id=case.client_id) if e.action == "retry_case"]
    assert logged == [("the_designer", case_id)] * 2
    nothing = designer.post(f"{url}/steps/{step}/retry", data={"csrf_token": token})
    assert "Retried 0 case(s)" in designer.get(url).text and nothing.status_code == 302


def _admin(site: Site) -> None:
    site.application.accounts.add_user("the_admin", "Admin", "st_giles_trust", "admin",
                                       PASSWORD)


def test_retrying_at_a_step_is_refused_where_the_designer_sees_no_count(site: Site) -> None:
    """On a pathway that reveals health data the designer sees no count, so may not retry
    there either (not found); an admin may. Commissioners never retry."""
    engine = site.application.engine
    doc = org_wait("st_giles_trust")
    doc["sensitive"] = "health"
    compiled = compile_pathway(doc)
    engine.publish(compiled.files(), compiled.bpmn_file)
    case = engine.start_case("st_giles_trust_wait", engine.add_client("Dee").id or 0)
    assert engine.complete_task(case.tasks[0].task.id, {"notes": "x"}).status == "error"
    step = str((engine.get_case(case.case.id or 0).case.error or {}).get("step"))
    url = f"/pathways/st_giles_trust_wait/v1/steps/{step}/retry"
    designer = _signed_in(site, "designer")
    token = csrf_token(designer.get("/pathways/st_giles_trust_wait/v1").text)
    assert designer.post(url, data={"csrf_token": token}).status_code == 404
    commissioner = _signed_in(site, "commissioner")
    token = csrf_token(commissioner.get("/pathways/st_giles_trust_wait/v1").text)
    assert commissioner.post(url, data={"csrf_token": token}).status_code == 403
    assert engine.get_case(case.case.id or 0).case.status == "error"
    admin = site.client()
    _admin(site)
    force_sign_in(admin, site, "the_admin")
    token = csrf_token(admin.get("/pathways/st_giles_trust_wait/v1").text)
    assert admin.post(url, data={"csrf_token": token}).status_code == 302


def test_counts_at_a_step_that_reveals_health_or_offence_data_are_for_record_roles_only(
        site: Site) -> None:
    engine = site.application.engine
    engine.publish(*read_bundle(PROJECT_ROOT / "definitions" / "gate_reception.yaml"))
    engine.start_case("gate_reception", engine.add_client("C").id or 0)
    sensitive = engine.definition("gate_reception", 1).sensitive_steps
    assert sensitive, "the shipped gate reception has sensitive steps"
    tasks = engine.definition("gate_reception", 1).user_tasks
    shown_as_tasks = sorted(step for step in sensitive if step in tasks)
    assert shown_as_tasks, "a sensitive step is a task of the table"
    designer = _signed_in(site, "designer")
    counts = designer.get("/pathways/gate_reception/v1/counts.json").get_json()["steps"]
    page = designer.get("/pathways/gate_reception/v1").text
    for step in sensitive:
        assert step not in counts
    for step in shown_as_tasks:
        assert _cells(page, f"step-{step}")[1] == (
            "not shown: the step reveals health or offence information")
    site.application.accounts.add_user("the_admin", "Admin", "st_giles_trust", "admin",
                                       PASSWORD)
    admin = site.client()
    force_sign_in(admin, site, "the_admin")
    assert set(shown_as_tasks) <= set(admin.get(
        "/pathways/gate_reception/v1/counts.json").get_json()["steps"])
    assert _cells(admin.get("/pathways/gate_reception/v1").text,
                  f"step-{shown_as_tasks[0]}")[1:] == ["0", "0", "0"]


def test_the_version_s_bpmn_is_served_as_xml_and_a_missing_version_is_not_found(
        site: Site) -> None:
    _cases_at_the_first_step(site, 1)
    client = _signed_in(site, "commissioner")
    bpmn = client.get("/pathways/gate_reception/v1.bpmn")
    assert bpmn.status_code == 200 and bpmn.mimetype == "application/xml"
    assert "<bpmn:definitions" in bpmn.text or "<definitions" in bpmn.text
    for url in ("/pathways/gate_reception/v2", "/pathways/gate_reception/v2.bpmn",
                "/pathways/gate_reception/v2/counts.json", "/pathways/nothing/v1",
                "/pathways/nothing/v1/counts.json"):
        assert client.get(url).status_code == 404, url


def test_front_end_packages_are_served_from_their_built_files_only(site: Site) -> None:
    client = site.client()
    with client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js") as script:
        assert script.status_code == 200 and "javascript" in script.mimetype
    with client.get("/vendor/bpmn-js/assets/bpmn-js.css") as style:
        assert style.status_code == 200 and style.mimetype == "text/css"
    for url in ("/vendor/bpmn-js/../package.json", "/vendor/bpmn-js/%2e%2e/package.json",
                "/vendor/diagram-js/lib/Diagram.js", "/vendor/bpmn-js/no-such-file.js",
                "/vendor/../package-lock.json"):
        assert client.get(url).status_code == 404, url


# -- comparing versions (item 4) ------------------------------------------------------------


def _gate_reception_twice(site: Site, tmp_path: Path) -> None:
    """v1 as shipped; v2 with an option added to a field, a field made optional and a
    task's title changed."""
    engine = site.application.engine
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    text = shipped.read_text("utf-8")
    for old, new in (("options: [low, medium, high, very high]",
                      "options: [low, medium, high, very high, extreme]"),
                     ("    title: Needs assessment\n", "    title: Assessment of needs\n")):
        assert old in text
        text = text.replace(old, new, 1)
    changed = tmp_path / "gate_reception.yaml"
    changed.write_text(text, "utf-8")
    engine.publish(*read_bundle(changed), note="Extreme risk", author="eli")


def test_comparing_two_versions_says_what_changed_in_words(site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    client = _signed_in(site, "designer")
    assert 'href="/pathways/gate_reception/compare"' in client.get(
        "/pathways/gate_reception").text
    page = client.get("/pathways/gate_reception/compare")
    assert page.status_code == 200
    assert "what changed from v1 to v2" in page.text
    change = re.search(r'<li id="change-needs_assessment"[^>]*>(.*?)</ul>', page.text, re.S)
    assert change, page.text
    said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", change.group(1)))
    assert "field &#39;risk_level&#39;: option &#39;extreme&#39; added" in said
    assert "title &#39;Needs assessment&#39; → &#39;Assessment of needs&#39;" in said
    for type_name in ("UserTask", "ExclusiveGateway", "[", "typename"):
        assert type_name not in said
    marks = re.search(r'id="diagram-new"[^>]*data-marks="([^"]*)"', page.text, re.S)
    assert marks and "needs_assessment" in marks.group(1) and "changed" in marks.group(1)


def test_a_version_compared_with_itself_has_no_changes(site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    page = _signed_in(site, "commissioner").get(
        "/pathways/gate_reception/compare?from=2&to=2")
    assert page.status_code == 200 and 'id="no-changes"' in page.text


def test_comparing_versions_that_do_not_exist_is_refused_with_the_versions_there_are(
        site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    client = _signed_in(site, "designer")
    for query in ("from=3", "to=0", "from=x", "to=-1", "from=1.5"):
        refused = client.get(f"/pathways/gate_reception/compare?{query}")
        assert refused.status_code == 400, query
        assert "must be one of the versions: 1, 2" in refused.text, query
    assert client.get("/pathways/no_such/compare").status_code == 404
    assert _signed_in(site, "caseworker").get(
        "/pathways/gate_reception/compare").status_code == 403


# -- how new cases get a version (item 5) ---------------------------------------------------


def _post(client: FlaskClient, url: str, data: dict[str, str]) -> Any:
    token = csrf_token(client.get("/pathways/gate_reception").text)
    return client.post(url, data={**data, "csrf_token": token})


def test_a_designer_sets_a_seeded_split_and_it_is_kept_with_who_set_it(
        site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    client = _signed_in(site, "designer")
    done = _post(client, "/pathways/gate_reception/allocation",
                 {"kind": "split", "weight-1": "30", "weight-2": "70", "seed": "trial-2"})
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/pathways/gate_reception")
    policy = site.application.engine.allocation("gate_reception")
    assert (policy.kind, policy.weights, policy.seed, policy.set_by) == (
        "split", {1: 30, 2: 70}, "trial-2", "the_designer")
    page = client.get("/pathways/gate_reception").text
    assert "New cases of gate reception: split at random: v1 30%, v2 70% (seed trial-2)." in page
    assert 'id="weight-2" name="weight-2" inputmode="numeric" size="6" value="70"' in page
    assert page.count('action="/pathways/gate_reception/allocation"') == 1  # the form once
    assert "<title>gate reception · Pathways</title>" in page


def test_a_fixed_version_and_the_latest_can_be_set_and_a_split_gets_a_seed(
        site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    client = _signed_in(site, "admin")
    engine = site.application.engine
    assert _post(client, "/pathways/gate_reception/allocation",
                 {"kind": "fixed", "version": "1"}).status_code == 302
    assert (engine.allocation("gate_reception").kind,
            engine.allocation("gate_reception").version) == ("fixed", 1)
    assert _post(client, "/pathways/gate_reception/allocation",
                 {"kind": "split", "weight-1": "1", "weight-2": "1"}).status_code == 302
    assert engine.allocation("gate_reception").seed  # recorded, so it can be recomputed
    assert _post(client, "/pathways/gate_reception/allocation",
                 {"kind": "latest"}).status_code == 302
    assert engine.allocation("gate_reception").kind == "latest"


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"kind": "split", "weight-1": "50"}, "weights",
     "give at least two versions a weight above 0"),
    ({"kind": "split", "weight-1": "50", "weight-2": "0"}, "weights",
     "give at least two versions a weight above 0"),
    ({"kind": "split", "weight-1": "fifty", "weight-2": "50"}, "weight-1",
     "a whole number, 0 to 999999"),
    ({"kind": "split", "weight-1": "-5", "weight-2": "50"}, "weight-1",
     "a whole number, 0 to 999999"),
    ({"kind": "split", "weight-1": "1", "weight-2": "1", "seed": "s" * 201}, "seed",
     "at most 200 characters"),
    ({"kind": "fixed", "version": "9"}, "version", "choose one of the published versions"),
    ({"kind": "fixed"}, "version", "choose one of the published versions"),
    ({"kind": "everyone"}, "kind", "choose latest, fixed or split"),
    ({}, "kind", "choose latest, fixed or split"),
])
def test_a_policy_that_cannot_be_is_refused_beside_its_field_and_nothing_changes(
        site: Site, tmp_path: Path, data: dict[str, str], field: str, message: str) -> None:
    _gate_reception_twice(site, tmp_path)
    client = _signed_in(site, "designer")
    before = site.application.engine.allocation("gate_reception")
    refused = _post(client, "/pathways/gate_reception/allocation", data)
    assert refused.status_code == 422
    assert message in refused.text
    if field.startswith("weight-") or field in ("version", "seed"):
        assert f'aria-describedby="error-{field}"' in refused.text
    if "weight-1" in data:  # what was typed is kept
        assert f'value="{data["weight-1"]}"' in refused.text
    assert site.application.engine.allocation("gate_reception") == before


def test_commissioners_read_the_policy_but_cannot_change_it_and_a_form_needs_its_token(
        site: Site, tmp_path: Path) -> None:
    _gate_reception_twice(site, tmp_path)
    commissioner = _signed_in(site, "commissioner")
    page = commissioner.get("/pathways/gate_reception").text
    assert "New cases: every new case on the latest version" in page
    assert 'action="/pathways/gate_reception/allocation"' not in page
    refused = _post(commissioner, "/pathways/gate_reception/allocation", {"kind": "latest"})
    assert refused.status_code == 403
    designer = site.client()
    site.application.accounts.add_user("other_designer", "D", "st_giles_trust", "designer",
                                       PASSWORD)
    force_sign_in(designer, site, "other_designer")
    no_token = designer.post("/pathways/gate_reception/allocation",
                             data={"kind": "fixed", "version": "1"})
    assert no_token.status_code == 400
    assert site.application.engine.allocation("gate_reception").kind == "latest"
    assert designer.post("/pathways/nothing/allocation", data={
        "kind": "latest", "csrf_token": csrf_token(designer.get("/pathways").text)
    }).status_code == 404


# -- moving running cases (item 5) ---------------------------------------------------------


ASSESSED = {"needs_accommodation": True, "needs_benefits": False,
            "needs_substance_misuse": False, "needs_family": False, "needs_employment": True,
            "risk_level": "high"}


def _three_versions_and_cases(site: Site, tmp_path: Path, cases: int = 2) -> list[int]:
    """v1 as shipped, with cases waiting at its first task (the first case's assessment
    done); v2 renames that task (safe for both); v3 adds an option to its form and removes
    the one the first case answered (safe for a case waiting there, not for one that has
    done it)."""
    engine = site.application.engine
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    views = [engine.start_case("gate_reception", engine.add_client(
        f"C{n}", {"release_date": "2030-01-01"}).id or 0) for n in range(cases)]
    if views:
        engine.complete_task(views[0].tasks[0].task.id, ASSESSED)
    started = [view.case.id or 0 for view in views]
    text = shipped.read_text("utf-8").replace("    title: Needs assessment\n",
                                              "    title: Assessment of needs\n", 1)
    for number, changed in ((2, text), (3, text.replace(
            "options: [low, medium, high, very high]",
            "options: [low, medium, very high, extreme]"))):
        path = tmp_path / f"v{number}" / "gate_reception.yaml"
        path.parent.mkdir()
        path.write_text(changed, "utf-8")
        engine.publish(*read_bundle(path), note=f"v{number}", author="dana")
    return started


def _case_versions(site: Site, cases: list[int]) -> list[int]:
    return [site.application.engine.get_case(case).case.version for case in cases]


def test_a_dry_run_shows_every_case_and_where_it_would_move_and_changes_nothing(
        site: Site, tmp_path: Path) -> None:
    cases = _three_versions_and_cases(site, tmp_path)
    client = _signed_in(site, "designer")
    page = client.get("/pathways/gate_reception/migrate?from=1&to=2")
    assert page.status_code == 200
    assert "2 of 2 active case(s) would move; 0 would stay." in page.text
    assert _cells(page.text, f"case-{cases[1]}") == [
        str(cases[1]), "Needs assessment", "moves to Assessment of needs"]
    assert _cells(page.text, f"case-{cases[0]}")[2].startswith("moves to ")
    assert "Move 2 case(s) to v2" in page.text
    assert _case_versions(site, cases) == [1, 1]
    mixed = client.get("/pathways/gate_reception/migrate?from=1&to=3")
    assert "1 of 2 active case(s) would move; 1 would stay." in mixed.text
    stays = _cells(mixed.text, f"case-{cases[0]}")[2]
    assert stays.startswith("stays: ") and "needs_assessment" in stays, stays
    assert _cells(mixed.text, f"case-{cases[1]}")[2] == "moves to Assessment of needs"
    assert "Move 1 case(s) to v3" in mixed.text
    only = client.get("/pathways/gate_reception/migrate?from=1&to=3&step=needs_assessment")
    assert "1 of 1 active case(s) would move" in only.text
    nothing = client.get("/pathways/gate_reception/migrate?from=2&to=3")
    assert "0 of 0 active case(s) would move" in nothing.text
    assert 'action="/pathways/gate_reception/migrate"' not in nothing.text


def test_running_a_migration_moves_the_cases_and_it_can_be_put_back(
        site: Site, tmp_path: Path) -> None:
    cases = _three_versions_and_cases(site, tmp_path)
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/migrate?from=1&to=2").text)
    done = client.post("/pathways/gate_reception/migrate",
                       data={"from": "1", "to": "2", "step": "", "csrf_token": token})
    assert done.status_code == 302
    shown = client.get(done.headers["Location"]).text
    assert "moved 2 case(s) from v1 to v2, refused 0." in shown
    assert _case_versions(site, cases) == [2, 2]
    migration = site.application.engine.migrations("gate_reception")[-1]
    assert migration.actor == "the_designer"
    history = client.get("/pathways/gate_reception/migrations").text
    assert _cells(history, f"migration-{migration.id}")[2:7] == [
        "the_designer", "v1 → v2", "\N{EN DASH}", "2", "0"]
    back = client.post(f"/pathways/gate_reception/migrations/{migration.id}/revert",
                       data={"csrf_token": token})
    assert back.status_code == 302
    assert _case_versions(site, cases) == [1, 1]
    after = client.get(f"/pathways/gate_reception/migrations/{migration.id}").text
    assert "put back by migration" in after
    assert "Put these cases back" not in after  # once only
    reverting = client.get(back.headers["Location"]).text
    assert "it puts back the cases of" in reverting


@pytest.mark.parametrize("query", ["from=1&to=9", "from=x&to=2", "from=2&to=2", "to=2"])
def test_a_migration_between_versions_that_cannot_be_is_refused(
        site: Site, tmp_path: Path, query: str) -> None:
    _three_versions_and_cases(site, tmp_path, cases=0)
    refused = _signed_in(site, "designer").get(f"/pathways/gate_reception/migrate?{query}")
    assert refused.status_code == 400
    assert "must be" in refused.text


def test_migration_pages_are_for_designers_and_admins_and_need_their_tokens(
        site: Site, tmp_path: Path) -> None:
    cases = _three_versions_and_cases(site, tmp_path)
    for role in ("commissioner", "caseworker"):
        client = _signed_in(site, role) if role == "commissioner" else None
        if client is None:
            site.application.accounts.add_user("cw", "Cw", "st_giles_trust", "caseworker",
                                               PASSWORD)
            client = site.client()
            force_sign_in(client, site, "cw")
        for url in ("/pathways/gate_reception/migrate?from=1&to=2",
                    "/pathways/gate_reception/migrations"):
            assert client.get(url).status_code == 403, (role, url)
    designer = _signed_in(site, "designer")
    no_token = designer.post("/pathways/gate_reception/migrate", data={"from": "1", "to": "2"})
    assert no_token.status_code == 400
    assert _case_versions(site, cases) == [1, 1]
    assert designer.get("/pathways/nothing/migrate").status_code == 404
    assert designer.get("/pathways/gate_reception/migrations/999").status_code == 404
    assert designer.get("/pathways/gate_reception/migrate").status_code == 200  # the form


def test_a_migration_longer_than_the_request_is_followed_on_its_page(
        site: Site, tmp_path: Path) -> None:
    """A large migration runs on after the request (a browser would give up waiting): the
    designer lands on its page, which says how far it has got and refreshes itself, with
    the same figures as JSON, until it has finished; then it reads as any migration."""
    import time

    cases = _three_versions_and_cases(site, tmp_path, cases=12)
    site.app.config["PATHWAYS_MIGRATION_WAIT"] = 0
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/migrate?from=1&to=2").text)
    going = client.post("/pathways/gate_reception/migrate",
                        data={"csrf_token": token, "from": "1", "to": "2"})
    assert going.status_code == 302
    migration_id = int(going.headers["Location"].rsplit("/", 1)[1])
    page = client.get(going.headers["Location"]).text
    assert "is running" in page or "moved 11 case(s)" in page
    seen = []
    for _ in range(200):
        figures = client.get(f"/pathways/gate_reception/migrations/{migration_id}"
                             "/progress.json").get_json()
        seen.append(figures["state"])
        if figures["state"] == "finished":
            break
        assert figures["state"] == "running" and figures["planned"] == 12
        page = client.get(f"/pathways/gate_reception/migrations/{migration_id}").text
        # The migration may finish between the two reads: then the page reads as finished.
        assert ('http-equiv="refresh"' in page) != ("Put these cases back" in page), page
        time.sleep(0.05)
    assert figures == {"migration": migration_id, "state": "finished", "planned": 12,
                       "checked": 12, "moved": 12, "stayed": 0}, seen
    done = client.get(f"/pathways/gate_reception/migrations/{migration_id}").text
    assert 'http-equiv="refresh"' not in done and 'id="progress"' not in done
    assert "Put these cases back" in done
    assert _case_versions(site, cases) == [2] * 12


def test_a_migration_whose_server_stopped_says_so(site: Site, tmp_path: Path) -> None:
    """No progress for minutes and not finished: its process died. The page says which
    cases it checked and that the others are still on the old version."""
    from datetime import timedelta

    from engine.model import Migration

    _three_versions_and_cases(site, tmp_path, cases=0)
    engine = site.application.engine
    long_ago = engine.clock.now() - timedelta(minutes=10)
    with engine.uow() as uow:
        migration = uow.migrations.add(Migration(None, "gate_reception", 1, 2, long_ago,
                                                 planned=30))
        uow.migrations.progress(migration.id or 0, 10, long_ago)
        uow.commit()
    client = _signed_in(site, "designer")
    page = client.get(f"/pathways/gate_reception/migrations/{migration.id}").text
    assert "Stopped before it finished" in page and "10 of 30 case(s) checked" in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(f"/pathways/gate_reception/migrations/{migration.id}/progress.json"
                      ).get_json()["state"] == "stopped"


def test_the_history_of_migrations_reads_the_same_statements_however_many_there_are(
        site: Site, tmp_path: Path) -> None:
    """One read for every migration's tallies, not one per migration."""
    from tests.web.test_dashboard_speed import counted

    _three_versions_and_cases(site, tmp_path, cases=1)
    engine = site.application.engine
    client = _signed_in(site, "designer")
    seen = []
    for _ in range(2):
        engine.migrate("gate_reception", 1, 2, actor="dana")
        engine.migrate("gate_reception", 2, 1, actor="dana")
        with counted(site) as statements:
            assert client.get("/pathways/gate_reception/migrations").status_code == 200
        seen.append(len(statements))
    assert seen[0] == seen[1], seen


def _mental_health_twice(site: Site, tmp_path: Path) -> int:
    """The shipped mental health referral (a pathway that reveals health data by a case
    being on it) as v1 with a case waiting at its screening, and v2 with that step renamed."""
    engine = site.application.engine
    shipped = PROJECT_ROOT / "definitions" / "mental_health_referral.yaml"
    engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    case = engine.start_case("mental_health_referral", engine.add_client("Hidden").id or 0)
    path = tmp_path / "v2" / "mental_health_referral.yaml"
    path.parent.mkdir()
    path.write_text(shipped.read_text("utf-8").replace(
        "title: Screening (PHQ-9 and GAD-7)", "title: First screening", 1), "utf-8")
    engine.publish(*read_bundle(path), note="v2", author="dana")
    return case.case.id or 0


def test_migration_pages_list_no_case_beside_health_or_offence_data_for_designers(
        site: Site, tmp_path: Path) -> None:
    """A designer does not open client records: a case id beside a step (or on a pathway)
    that reveals health or offence data would tell them this client was there. They see how
    many such cases there are; an admin sees each."""
    case = _mental_health_twice(site, tmp_path)
    designer = _signed_in(site, "designer")
    dry_run = designer.get("/pathways/mental_health_referral/migrate?from=1&to=2").text
    assert "1 of 1 active case(s) would move" in dry_run
    assert f'id="case-{case}"' not in dry_run and "Screening (PHQ-9" not in dry_run.split(
        'id="summary"')[1]
    assert "1 case(s) are not listed" in dry_run and "(1 of them would move)" in dry_run
    token = csrf_token(dry_run)
    done = designer.post("/pathways/mental_health_referral/migrate",
                         data={"csrf_token": token, "from": "1", "to": "2"})
    assert done.status_code == 302
    migration = site.application.engine.migrations("mental_health_referral")[-1]
    result = designer.get(f"/pathways/mental_health_referral/migrations/{migration.id}").text
    assert f'id="case-{case}"' not in result and "1 case(s) are not listed" in result
    site.application.accounts.add_user("the_admin", "Admin", "st_giles_trust", "admin",
                                       PASSWORD)
    admin = site.client()
    force_sign_in(admin, site, "the_admin")
    seen = admin.get(f"/pathways/mental_health_referral/migrations/{migration.id}").text
    assert _cells(seen, f"case-{case}")[1].startswith("moved from Screening (PHQ-9")
    assert "not listed" not in seen


def test_a_case_at_a_sensitive_step_of_an_open_pathway_is_counted_not_listed(
        site: Site, tmp_path: Path) -> None:
    """On gate reception, which is not sensitive as a whole, a case waiting at a step that
    is (the referral to substance misuse services) is left out of the designer's list; one
    at an ordinary step is listed."""
    engine = site.application.engine
    for other in ("mental_health_referral", "housing_support", "family_support",
                  "employment_support"):
        engine.publish(*read_bundle(PROJECT_ROOT / "definitions" / f"{other}.yaml"))
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    engine.publish(*read_bundle(shipped))
    cases = [engine.start_case("gate_reception", engine.add_client(
        f"C{n}", {"release_date": "2030-01-01"}).id or 0) for n in range(2)]
    answers = {"needs_assessment": {**ASSESSED, "needs_substance_misuse": True,
                                    "needs_accommodation": False,
                                    "needs_employment": False},
               "gate_meeting": {"met_at_gate": True},
               "first_week_support": {"accommodation_status": "settled",
                                      "benefits_claim_made": True},
               "mental_health_screening": {"mental_health_concern": False,
                                           "consent_to_refer": False}}
    view = cases[0]
    while view.tasks[0].task.step in answers:
        view = engine.complete_task(view.tasks[0].task.id, answers[view.tasks[0].task.step])
    assert view.tasks[0].task.step == "refer_substance_misuse"
    assert "refer_substance_misuse" in engine.definition("gate_reception", 1).sensitive_steps
    path = tmp_path / "v2" / "gate_reception.yaml"
    path.parent.mkdir()
    path.write_text(shipped.read_text("utf-8").replace(
        "    title: Needs assessment\n", "    title: Assessment of needs\n", 1), "utf-8")
    engine.publish(*read_bundle(path))
    designer = _signed_in(site, "designer")
    dry_run = designer.get("/pathways/gate_reception/migrate?from=1&to=2").text
    assert "2 of 2 active case(s) would move" in dry_run
    assert f'id="case-{cases[0].case.id}"' not in dry_run
    assert "Refer to substance misuse" not in dry_run.split('id="summary"')[1]
    assert _cells(dry_run, f"case-{cases[1].case.id}")[1] == "Needs assessment"
    assert "1 case(s) are not listed" in dry_run


# -- writing and publishing (item 3) --------------------------------------------------------


def _shipped_gate_reception(site: Site) -> str:
    """Gate reception as shipped, and the pathways it refers to (a pathway may only refer
    to published ones)."""
    for referred in ("mental_health_referral", "housing_support", "employment_support",
                     "family_support"):
        site.application.engine.publish(*read_bundle(
            PROJECT_ROOT / "definitions" / f"{referred}.yaml"), note="As shipped")
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    site.application.engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    return shipped.read_text("utf-8")


def read_bundle_text(source: str) -> tuple[dict[str, str], str]:
    """A pathway's YAML text as a bundle to publish."""
    compiled = compile_pathway(load_pathway(source, "pathway.yaml"))
    return {f"{compiled.pathway}.yaml": source, **compiled.files()}, compiled.bpmn_file


def _check(client: FlaskClient, source: str, *, token: str | None) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    return client.post("/editor/check", json={"source": source}, headers=headers)


def test_the_editor_opens_on_the_latest_version_s_yaml(site: Site) -> None:
    source = _shipped_gate_reception(site)
    client = _signed_in(site, "designer")
    page = client.get("/pathways/gate_reception/edit")
    assert page.status_code == 200
    assert "Edit gate reception (from v1)" in page.text
    assert str(escape(source)) in page.text
    assert 'src="/vendor/codemirror/codemirror.js"' in page.text
    assert 'href="/pathways/gate_reception/edit"' in client.get("/pathways/gate_reception").text
    assert _signed_in(site, "commissioner").get(
        "/pathways/gate_reception/edit").status_code == 403


def test_the_server_check_gives_each_problem_at_its_line_and_a_clean_text_its_bpmn(
        site: Site) -> None:
    source = _shipped_gate_reception(site)
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/edit").text)
    broken = source.replace("    role: caseworker\n", "    role: nobody_at_all\n", 1)
    line = broken.splitlines().index("    role: nobody_at_all") + 1
    found = _check(client, broken, token=token)
    assert found.status_code == 200
    problems = found.get_json()["problems"]
    assert problems and problems[0]["line"] == line and problems[0]["column"] > 0
    assert "nobody_at_all" in problems[0]["message"]
    assert found.get_json()["bpmn"] is None
    clean = _check(client, source, token=token).get_json()
    assert clean["problems"] == [] and clean["bpmn"].lstrip().startswith("<?xml")
    not_yaml = _check(client, "steps: [unclosed", token=token).get_json()["problems"]
    assert not_yaml and not_yaml[0]["line"] >= 1
    assert _check(client, source, token=None).status_code == 400  # no CSRF token
    assert client.post("/editor/check", data="not json", headers={
        "X-CSRFToken": token, "Content-Type": "application/json"}).status_code == 400


def test_publishing_from_the_editor_needs_a_clean_text_and_a_note(site: Site) -> None:
    source = _shipped_gate_reception(site)
    engine = site.application.engine
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/edit").text)
    broken = source.replace("    role: caseworker\n", "    role: nobody_at_all\n", 1)
    refused = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": broken, "note": "Try"})
    assert refused.status_code == 422
    assert "problem(s): nothing was published" in refused.text
    assert "nobody_at_all" in refused.text and str(escape(broken)) in refused.text
    changed = source.replace("    title: Needs assessment\n",
                             "    title: Assessment of needs\n", 1)
    no_note = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": changed, "note": "  "})
    assert no_note.status_code == 422 and 'id="error-note"' in no_note.text
    assert str(escape(changed)) in no_note.text  # what was typed is kept
    assert [v.number for v in engine.versions("gate_reception")] == [1]
    done = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": changed,
        "note": "Renamed the assessment"})
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/pathways/gate_reception")
    latest = engine.versions("gate_reception")[-1]
    assert (latest.number, latest.note, latest.author) == (
        2, "Renamed the assessment", "the_designer")
    assert "Published gate_reception v2: Renamed the assessment" in client.get(
        "/pathways/gate_reception").text
    same = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": changed, "note": "Again"})
    assert same.status_code == 302 and len(engine.versions("gate_reception")) == 2
    assert "Nothing published" in client.get("/pathways/gate_reception").text


def test_a_new_pathway_is_written_from_the_starter(site: Site) -> None:
    site.application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    client = site.client()
    site.application.accounts.add_user("dana", "Dana", "st_giles_trust", "designer", PASSWORD)
    force_sign_in(client, site, "dana")
    page = client.get("/editor")
    assert page.status_code == 200 and "pathway: new_pathway" in page.text
    starter = re.search(r'<textarea id="source"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert starter
    source = starter.group(1).replace("&#39;", "'").replace("&#34;", '"')
    done = client.post("/editor/publish", data={
        "csrf_token": csrf_token(page.text), "source": source, "note": "First draft"})
    assert done.status_code == 302, done.text
    assert site.application.engine.versions("new_pathway")[0].note == "First draft"


def test_a_bpmn_upload_is_published_or_refused_with_its_location(site: Site) -> None:
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/editor").text)
    files, main = bundle("gate_reception")
    uploads = [(io.BytesIO(text.encode()), name) for name, text in files.items()]
    done = client.post("/editor/upload", data={"csrf_token": token, "note": "From Camunda",
                                               "files": uploads},
                       content_type="multipart/form-data")
    assert done.status_code == 302, done.text
    assert site.application.engine.versions("gate_reception")[0].note == "From Camunda"
    broken = files[main].replace("<bpmn:startEvent", "<bpmn:startEvnt", 1)
    refused = client.post("/editor/upload", data={
        "csrf_token": token, "note": "Broken",
        "files": [(io.BytesIO(broken.encode()), main)]}, content_type="multipart/form-data")
    assert refused.status_code == 422
    problem = re.search(r'<p class="error" role="alert" id="upload-problem">([^<]*)</p>',
                        refused.text)
    assert problem and re.search(r"gate_reception\.bpmn:\d+", problem.group(1)), refused.text
    for data in ({"csrf_token": token, "note": "x"},
                 {"csrf_token": token, "note": "x",
                  "files": [(io.BytesIO(b"{}"), "form.json")]},
                 {"csrf_token": token, "note": "",
                  "files": [(io.BytesIO(files[main].encode()), main)]},
                 {"csrf_token": token, "note": "x",
                  "files": [(io.BytesIO(b"\xff\xfe"), main)]}):
        assert client.post("/editor/upload", data=data,
                           content_type="multipart/form-data").status_code == 422
    assert len(site.application.engine.versions("gate_reception")) == 1


def test_only_designers_and_admins_may_have_a_text_checked(site: Site) -> None:
    _shipped_gate_reception(site)
    for role in ("commissioner", "caseworker"):
        client = _signed_in(site, role) if role == "commissioner" else site.client()
        if role == "caseworker":
            site.application.accounts.add_user("cw", "Cw", "st_giles_trust", "caseworker",
                                               PASSWORD)
            force_sign_in(client, site, "cw")
        token = csrf_token(client.get("/pathways" if role == "commissioner"
                                      else "/inbox").text)
        assert _check(client, "pathway: x", token=token).status_code == 403, role
    anonymous = site.client().post("/editor/check", json={"source": "pathway: x"})
    assert anonymous.status_code in (302, 400, 401)


def _save_draft(client: FlaskClient, token: str, body: Any) -> Any:
    return client.post("/editor/draft", json=body, headers={"X-CSRFToken": token})


def test_what_a_designer_types_is_kept_as_their_draft_until_published(site: Site) -> None:
    source = _shipped_gate_reception(site)
    engine = site.application.engine
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/edit").text)
    typed = source.replace("    title: Needs assessment\n", "    title: Half-typed\n", 1)
    saved = _save_draft(client, token, {"name": "gate_reception", "source": typed,
                                        "based_on": 1})
    assert saved.status_code == 200 and saved.get_json()["saved_at"]
    page = client.get("/pathways/gate_reception/edit").text  # another day, another computer
    assert "This is your draft, saved" in page
    assert "title: Half-typed" in page
    other = site.client()
    site.application.accounts.add_user("eli", "Eli", "st_giles_trust", "designer", PASSWORD)
    force_sign_in(other, site, "eli")
    assert "Half-typed" not in other.get("/pathways/gate_reception/edit").text  # per designer
    assert not engine.versions("gate_reception")[-1].number > 1  # nothing published
    done = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": typed, "note": "Renamed"})
    assert done.status_code == 302
    assert engine.definition_draft("the_designer", "gate_reception") is None
    assert "This is your draft" not in client.get("/pathways/gate_reception/edit").text


def test_a_draft_of_an_older_version_is_not_taken_for_the_newest_and_can_be_discarded(
        site: Site) -> None:
    source = _shipped_gate_reception(site)
    engine = site.application.engine
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/edit").text)
    _save_draft(client, token, {"name": "gate_reception", "source": "stale text",
                                "based_on": 1})
    engine.publish(*read_bundle_text(source.replace(
        "    title: Needs assessment\n", "    title: By someone else\n", 1)), note="v2")
    page = client.get("/pathways/gate_reception/edit").text
    assert "stale text" not in page and "By someone else" in page
    _save_draft(client, token, {"name": "gate_reception", "source": "fresh text",
                                "based_on": 2})
    assert "fresh text" in client.get("/pathways/gate_reception/edit").text
    gone = client.post("/editor/draft/discard", data={"csrf_token": token,
                                                      "name": "gate_reception"})
    assert gone.status_code == 302
    assert "fresh text" not in client.get("/pathways/gate_reception/edit").text
    assert engine.definition_draft("the_designer", "gate_reception") is None


@pytest.mark.parametrize("body", [
    "not json", {"source": 3}, {"name": 7, "source": "x"},
    {"name": "p", "source": "x", "based_on": "2"}, {"name": "p", "source": "x", "based_on": True},
    {"name": "p", "source": "x" * (256 * 1024 + 1), "based_on": None}])
def test_a_draft_that_cannot_be_kept_is_refused(site: Site, body: Any) -> None:
    _shipped_gate_reception(site)
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/editor").text)
    sent = (client.post("/editor/draft", data=body, headers={
        "X-CSRFToken": token, "Content-Type": "application/json"}) if isinstance(body, str)
        else _save_draft(client, token, body))
    assert sent.status_code == 400
    assert _save_draft(client, "", {"name": "", "source": "x"}).status_code == 400  # no token
    commissioner = _signed_in(site, "commissioner")
    assert _save_draft(commissioner, csrf_token(commissioner.get("/pathways").text),
                       {"name": "", "source": "x"}).status_code == 403


def test_a_slow_draft_save_answered_after_publishing_does_not_take_the_message_back(
        site: Site) -> None:
    """The browser saves a draft a second after the last keystroke; if that save was sent
    with the cookie from before publishing and is answered after it, its answer must not set
    the cookie again, or the "Published ..." message the publish put there is lost (the
    cookie holds only the server session's key, whose lifetime the server keeps)."""
    source = _shipped_gate_reception(site)
    client = _signed_in(site, "designer")
    token = csrf_token(client.get("/pathways/gate_reception/edit").text)
    before_publishing = client.get_cookie("pathways_session")
    assert before_publishing is not None
    changed = source.replace("    title: Needs assessment\n",
                             "    title: Assessment of needs\n", 1)
    done = client.post("/editor/publish", data={
        "csrf_token": token, "name": "gate_reception", "source": changed, "note": "Renamed"})
    assert done.status_code == 302 and "Set-Cookie" in done.headers  # the message is in it
    late = site.client()
    late.set_cookie("pathways_session", before_publishing.value)
    saved = _save_draft(late, token, {"name": "gate_reception", "source": changed,
                                      "based_on": 1})
    assert saved.status_code == 200
    assert "Set-Cookie" not in saved.headers
    for quiet in (late.get("/pathways/gate_reception/edit"), _check(late, changed, token=token)):
        assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    assert "Published gate_reception v2: Renamed" in client.get("/pathways/gate_reception").text
