"""Pages name things in words, and show dates one way (issue 18, item 7): a field hidden from
the reader by its form's label, organisations by their names, an unnamed decision without
its gw_ id, every date as "7 Oct 2026" and every time as "7 Oct 2026, 14:05"."""

from __future__ import annotations

import re

from engine.casework.case_page import decision_title
from tests.web.test_case_page import world  # noqa: F401
from tests.web.test_pages import World

DAY = r"\d{1,2} [A-Z][a-z]{2} \d{4}"  # 7 Oct 2026 (no leading zero)
ZERO_DAY = re.compile(r">0\d [A-Z][a-z]{2} \d{4}|\d{4}-\d\d-\d\d \d\d:\d\d")  # the old ways


def test_fields_hidden_from_the_reader_are_named_by_their_labels(world: World) -> None:  # noqa: F811
    world.application.casework.record_consent(world.user("sg_caseworker"),
                                              world.clients["aaron"], True, "programme",
                                              "One Service")
    page = world.client("om_caseworker").get(f"/clients/{world.clients['aaron']}").text
    (line,) = [x for x in page.splitlines() if "hidden from your role:" in x]
    assert "hidden from your role: Risk level, Substance misuse." in line
    assert "needs_substance_misuse" not in line and "risk_level" not in line


def test_the_access_log_names_organisations(world: World) -> None:  # noqa: F811
    world.client("sg_caseworker").get(f"/clients/{world.clients['aaron']}")
    page = world.client("sg_admin").get("/admin/access").text
    assert "<td>sg_caseworker</td><td>St Giles Trust</td>" in page
    assert "<td>st_giles_trust</td>" not in page


def test_an_unnamed_decision_is_said_in_words() -> None:
    assert decision_title("gw_refer_substance_misuse") == "Refer substance misuse"
    assert decision_title("risk_check") == "Risk check"


def test_dates_and_times_are_shown_one_way(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    aaron = world.clients["aaron"]
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    (gate,) = world.open_tasks(aaron)
    client.post(f"/tasks/{gate.id}", data={"action": "draft", "csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{gate.id}").text)[1]})  # type: ignore[index]
    task = client.get(f"/tasks/{gate.id}").text
    assert re.search(rf"Due {DAY}[.<]", task)
    assert re.search(rf"draft saved {DAY}, \d\d:\d\d<", task)
    record = client.get(f"/clients/{aaron}").text
    assert re.search(rf"<td>given</td><td>{DAY}</td>", record)  # a consent's effective day
    inbox = client.get("/inbox").text
    assert re.search(rf'<td data-label="Due">{DAY}', inbox)
    for page in (task, record, inbox, world.client("sg_admin").get("/admin/access").text):
        assert not ZERO_DAY.search(page), ZERO_DAY.search(page)
