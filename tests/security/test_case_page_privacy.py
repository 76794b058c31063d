"""The case page (/cases/K, its diagram, GET /api/v1/cases/K) and the answers on the client
timeline follow the client record's sensitivity rules (issue 18, item 1).

On tests/security/test_inference.py's scene (the shipped definitions, SQLite and PostgreSQL):
Dan took both sensitive branches of gate reception and was referred to Mind; Eve waits at the
substance misuse referral. A caseworker of another organisation, who may open the records
under the clients' programme consent, must find on the case pages, in the diagram they draw
and in the API answer none of test_inference's FORBIDDEN words (the sensitive steps' names,
titles and ids, their answers, the referral to Mind, the offence field's value), while the
answers that are not sensitive are there, labelled and in words. The client's own
organisation, and anyone with the health consent, still read them.
"""

from __future__ import annotations

import json
import re

from tests.security import test_inference
from tests.security.test_inference import (
    MENTAL_HEALTH,
    PROVIDER,
    RISK,
    SUBSTANCE_MISUSE,
    Scene,
    _api,
    assert_nothing_sensitive,
)

scene = test_inference.scene  # the fixture, shared


def _cases(scene: Scene, client_id: int) -> dict[str, int]:
    with scene.world.uow() as uow:
        return {c.pathway: c.id for c in uow.cases.list(client_id=client_id)}


def _marks(html: str) -> dict[str, str]:
    found = re.search(r'data-marks="([^"]*)"', html)
    assert found, "no diagram marks on the page"
    return dict(json.loads(found.group(1).replace("&#34;", '"')))


def test_another_organisation_reads_the_case_without_what_is_sensitive(scene: Scene) -> None:
    outsider = scene.world.client("om_caseworker")
    for client_id in (scene.dan, scene.eve):
        gate = _cases(scene, client_id)["gate_reception"]
        page = outsider.get(f"/cases/{gate}")
        assert page.status_code == 200, page.text[:500]
        assert_nothing_sensitive(page.text, f"the page of case {gate}")
        html = page.text
        # what is not sensitive is there: labels from the form, values in words
        assert "<h3>Needs assessment</h3>" in html
        assert "<dt>Accommodation</dt><dd>No</dd>" in html
        assert "<dt>Notes</dt><dd>Seen in HMP</dd>" in html
        assert '<dt>Risk level</dt><dd class="muted">hidden from your role</dd>' in html
        assert '<dt>Substance misuse</dt><dd class="muted">hidden from your role</dd>' in html
        assert "<dt>Accommodation status</dt><dd>settled</dd>" in html
        marks = _marks(html)
        assert marks.get("needs_assessment") == "done"
        assert not any("substance" in step or "mental_health_ref" in step for step in marks), marks
        diagram = outsider.get(f"/cases/{gate}/diagram.bpmn")
        assert diagram.status_code == 200
        assert_nothing_sensitive(diagram.text, f"the diagram of case {gate}")
        assert 'name="Needs assessment"' in diagram.text and "hidden_1" in diagram.text
    eve_gate = _cases(scene, scene.eve)["gate_reception"]
    eve = outsider.get(f"/cases/{eve_gate}").text
    assert "Waiting for now" in eve and "Nothing you may see." in eve  # the open task: hidden
    dan = outsider.get(f"/cases/{_cases(scene, scene.dan)['gate_reception']}").text
    assert "Referred to" not in dan  # the referral to Mind is left out, not replaced


def test_a_case_on_a_sensitive_pathway_is_not_found_for_them(scene: Scene) -> None:
    mind_case = _cases(scene, scene.dan)["mental_health_referral"]
    outsider = scene.world.client("om_caseworker")
    for path in (f"/cases/{mind_case}", f"/cases/{mind_case}/diagram.bpmn"):
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert "Dan Brown" not in response.text
        assert_nothing_sensitive(response.text, path)
    assert _api(scene.world)("om_caseworker", f"/cases/{mind_case}").status_code == 404


def test_the_client_timeline_shows_answers_without_what_is_sensitive(scene: Scene) -> None:
    outsider = scene.world.client("om_caseworker")
    html = outsider.get(f"/clients/{scene.dan}").text
    assert_nothing_sensitive(html, "Dan's record")
    assert "<dt>Accommodation</dt><dd>No</dd>" in html
    assert '<dt>Risk level</dt><dd class="muted">hidden from your role</dd>' in html
    own = scene.world.client("sg_caseworker").get(f"/clients/{scene.dan}").text
    assert f"<dt>Risk level</dt><dd>{RISK}</dd>" in own
    assert f"<dt>Provider</dt><dd>{PROVIDER}</dd>" in own


def test_the_api_case_answer_follows_the_same_rules(scene: Scene) -> None:
    api = _api(scene.world)
    gate = _cases(scene, scene.dan)["gate_reception"]
    response = api("om_caseworker", f"/cases/{gate}")
    assert response.status_code == 200, response.text
    assert_nothing_sensitive(response.text, f"GET /api/v1/cases/{gate}")
    body = response.json
    assessment = next(s for s in body["steps"] if s["step"] == "needs_assessment")
    answers = {a["label"]: a for a in assessment["answers"]}
    assert answers["Accommodation"]["text"] == "No"
    assert answers["Risk level"]["hidden"] is True
    own = api("sg_caseworker", f"/cases/{gate}").text
    for word in (*SUBSTANCE_MISUSE, RISK):
        assert word in own, word


def test_the_own_organisation_reads_every_step_and_follows_the_referral(scene: Scene) -> None:
    world = scene.world
    own = world.client("sg_caseworker")
    cases = _cases(scene, scene.dan)
    html = own.get(f"/cases/{cases['gate_reception']}").text
    assert "<h3>Refer to substance misuse services</h3>" in html
    assert f"<dt>Provider</dt><dd>{PROVIDER}</dd>" in html
    assert f"<dt>Risk level</dt><dd>{RISK}</dd>" in html
    assert f'<a href="/cases/{cases["mental_health_referral"]}">case' in html  # referred out
    diagram = own.get(f"/cases/{cases['gate_reception']}/diagram.bpmn").text
    assert "Refer to substance misuse services" in diagram
    assert _marks(html).get("refer_substance_misuse") == "done"
    mind = own.get(f"/cases/{cases['mental_health_referral']}")
    assert mind.status_code == 200
    assert "Referred in from" in mind.text and any(w in mind.text for w in MENTAL_HEALTH)
    eve_gate = _cases(scene, scene.eve)["gate_reception"]
    eve = own.get(f"/cases/{eve_gate}").text
    assert "Refer to substance misuse services</a>" in eve  # waiting there, for them
    assert _marks(eve).get("refer_substance_misuse") == "current"


def test_a_health_consent_opens_the_health_steps_but_not_the_offence_value(
        scene: Scene) -> None:
    world = scene.world
    world.application.casework.record_consent(world.user("sg_caseworker"), scene.dan, True,
                                              "health", "Mind and drug services")
    gate = _cases(scene, scene.dan)["gate_reception"]
    html = world.client("om_caseworker").get(f"/cases/{gate}").text
    assert "<h3>Refer to substance misuse services</h3>" in html
    assert RISK not in html
