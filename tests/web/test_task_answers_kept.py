"""Nothing typed is lost (issue 18, item 6): a task's form that cannot be applied comes back
with every answer as typed, what happened and what to do next, and an honest status: never a
bare "Not found" page. Each case is provoked for real: a colleague completes the task or takes
it, the case is cancelled, the form's security token is refused, the session ends.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from adapters.definition_files import read_bundle
from tests.web.conftest import Site, csrf_token
from tests.web.test_pages import DEFINITIONS, NEEDS_ASSESSMENT, World, build_world, token


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site)


NOTES = "Seen in HMP on Tuesday; <b>wants</b> housing near his mother"


def _open_form(world: World, username: str = "sg_caseworker") -> tuple[FlaskClient, str,
                                                                        dict[str, str]]:
    """A caseworker with Aaron's first task open in the browser: (client, task, the form's
    answers as they will send them, with the form's hidden fields)."""
    task = world.tasks["aaron"]
    client = world.client(username)
    page = client.get(f"/tasks/{task}")
    assert page.status_code == 200
    case = re.search(r'name="case" value="(\d+)"', page.text)
    assert case, "the task form names its case"
    seen = re.search(r'name="assignee_seen" value="([^"]*)"', page.text)
    assert seen, "the task form says whose the task was when it was shown"
    answers = {**NEEDS_ASSESSMENT, "notes": NOTES, "csrf_token": csrf_token(page.text),
               "case": case[1], "assignee_seen": seen[1], "action": "complete"}
    return client, task, answers


def _kept(text: str) -> None:
    """The answers are on the page, as typed."""
    assert html.escape(NOTES, quote=False) in text or html.escape(NOTES) in text, text
    assert "<b>wants</b>" not in text  # shown as text, never as markup
    assert re.search(r'name="risk_level" value="high"\s+checked', text) or \
        re.search(r"risk level</dt><dd[^>]*>high<", text), "the choice made is shown"


def test_a_task_a_colleague_completed_first_keeps_the_answers(world: World) -> None:
    client, task, answers = _open_form(world)
    world.application.casework.complete(world.user("sg_team_lead"), task, {
        **{k: v == "true" for k, v in NEEDS_ASSESSMENT.items() if v in ("true", "false")},
        "risk_level": "low"})
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 409, sent.text
    assert "Not found" not in sent.text
    assert "St Giles Trust team lead completed this task" in sent.text
    assert "were not saved" in sent.text
    _kept(sent.text)
    assert f'href="/clients/{world.clients["aaron"]}"' in sent.text
    # a draft saved meanwhile is told the same way
    drafted = client.post(f"/tasks/{task}", data={**answers, "action": "draft"})
    assert drafted.status_code == 409
    assert "St Giles Trust team lead completed this task" in drafted.text


def test_a_task_assigned_to_a_colleague_meanwhile_keeps_the_answers(world: World) -> None:
    client, task, answers = _open_form(world)
    world.application.casework.claim(world.user("sg_team_lead"), task)
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 409, sent.text
    assert "the task was assigned to St Giles Trust team lead" in sent.text
    _kept(sent.text)
    assert 'value="complete"' not in sent.text  # shown to copy, not to send
    assert world.open_task(task) is not None


def test_a_task_that_was_already_a_colleagues_is_refused_and_keeps_the_answers(
        world: World) -> None:
    """Not "meanwhile": the form said the task was theirs already, or said nothing (a post
    made by hand)."""
    client, task, answers = _open_form(world)
    world.application.casework.claim(world.user("sg_team_lead"), task)
    for sent in (client.post(f"/tasks/{task}", data={**answers,
                                                     "assignee_seen": "sg_team_lead"}),
                 client.post(f"/tasks/{task}", data={k: v for k, v in answers.items()
                                                     if k != "assignee_seen"})):
        assert sent.status_code == 403, sent.text
        assert "This task is assigned to St Giles Trust team lead" in sent.text
        assert "While you were filling this in" not in sent.text
        _kept(sent.text)
    assert world.open_task(task) is not None


def test_a_case_cancelled_meanwhile_keeps_the_answers(world: World) -> None:
    client, task, answers = _open_form(world)
    case_id = int(answers["case"])
    world.application.engine.cancel_case(case_id, actor="sg_admin", reason="duplicate")
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 409, sent.text
    assert f"Case {case_id} was cancelled" in sent.text and "by St Giles Trust admin" in sent.text
    _kept(sent.text)


def test_someone_who_may_not_do_the_task_is_told_nothing_of_it(world: World) -> None:
    _, task, answers = _open_form(world)
    world.application.casework.complete(world.user("sg_team_lead"), task, {
        **{k: v == "true" for k, v in NEEDS_ASSESSMENT.items() if v in ("true", "false")},
        "risk_level": "low"})
    stranger = world.client("om_caseworker")
    sent = stranger.post(f"/tasks/{task}", data={**answers,
                                                 "csrf_token": token(stranger)})
    assert sent.status_code == 404
    assert "sg_team_lead" not in sent.text and "Aaron" not in sent.text
    assert "Your answers were not saved" in sent.text  # their own answers, kept
    assert html.escape(NOTES, quote=False) in sent.text


def test_a_refused_security_token_gives_the_form_back_to_send_again(world: World) -> None:
    client, task, answers = _open_form(world)
    refused = client.post(f"/tasks/{task}", data={**answers, "csrf_token": "stale"})
    assert refused.status_code == 400, refused.text
    assert "security token was refused" in refused.text
    _kept(refused.text)
    again = client.post(f"/tasks/{task}", data={**answers,
                                                "csrf_token": csrf_token(refused.text)})
    assert again.status_code == 302, again.text
    assert world.open_task(task) is None


def test_answers_sent_after_the_session_ended_are_shown_with_how_to_go_on(
        world: World) -> None:
    client, task, answers = _open_form(world)
    client.post("/logout", data={"csrf_token": answers["csrf_token"]})
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 400, sent.text
    assert "your session had ended" in sent.text
    _kept(sent.text)
    assert "Sign in again (in a new tab)" in sent.text
    assert world.open_task(task) is not None


def _move_to_a_new_version(world: World, task: str, tmp_path: Path) -> int:
    """Aaron's case moved to a new version of gate_reception whose step is renamed (the
    open task is kept: the same id, at the renamed step). Returns the version."""
    shipped = DEFINITIONS / "gate_reception.yaml"
    changed = tmp_path / "v2" / "gate_reception.yaml"
    changed.parent.mkdir()
    changed.write_text(shipped.read_text("utf-8").replace(
        "task: needs_assessment", "task: assessment"), "utf-8")
    engine = world.application.engine
    was = world.open_task(task)
    assert was is not None
    new = engine.publish(*read_bundle(changed), note="renamed", author="tests").version
    engine.migrate("gate_reception", was.version, new, case_ids=[was.case_id],
                   actor="sg_admin", renames={"needs_assessment": "assessment"})
    moved = world.open_task(task)
    assert moved is not None and (moved.version, moved.step) == (new, "assessment")
    return new


def test_answers_to_a_task_whose_case_moved_version_meanwhile_are_applied(
        world: World, tmp_path: Path) -> None:
    client, task, answers = _open_form(world)
    _move_to_a_new_version(world, task, tmp_path)
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 302, sent.text
    assert world.open_task(task) is None


def test_a_task_completed_after_its_case_moved_is_told_as_completed(
        world: World, tmp_path: Path) -> None:
    client, task, answers = _open_form(world)
    _move_to_a_new_version(world, task, tmp_path)
    other = world.client("sg_team_lead")
    done = other.post(f"/tasks/{task}", data={**answers, "notes": "the lead's",
                                              "csrf_token": token(other)})
    assert done.status_code == 302, done.text
    sent = client.post(f"/tasks/{task}", data=answers)
    assert sent.status_code == 409, sent.text
    assert "St Giles Trust team lead completed this task" in sent.text
    _kept(sent.text)
