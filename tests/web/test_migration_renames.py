"""Renamed steps on the migration page (issue 15): the dry run and the move take "renamed
steps: old=new", as `pathways migrate --map` does; what is not old=new, or names a step the
versions lack, is refused and nothing moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.web.conftest import Site, csrf_token
from tests.web.test_designer_pages import _case_versions, _cells, _signed_in

SHIPPED = PROJECT_ROOT / "definitions" / "gate_reception.yaml"


def _renamed_version(site: Site, tmp_path: Path) -> int:
    """gate_reception as shipped with a case waiting at needs_assessment; v2 calls that
    step assessment."""
    engine = site.application.engine
    engine.publish(*read_bundle(SHIPPED), note="As shipped", author="dana")
    case_id = engine.start_case("gate_reception", engine.add_client(
        "C", {"release_date": "2030-01-01"}).id or 0).case.id or 0
    path = tmp_path / "v2" / "gate_reception.yaml"
    path.parent.mkdir()
    path.write_text(SHIPPED.read_text("utf-8").replace("task: needs_assessment",
                                                      "task: assessment"), "utf-8")
    engine.publish(*read_bundle(path), note="v2", author="dana")
    return case_id


def test_renamed_steps_move_the_cases_at_them(site: Site, tmp_path: Path) -> None:
    case_id = _renamed_version(site, tmp_path)
    client = _signed_in(site, "designer")
    stays = client.get("/pathways/gate_reception/migrate?from=1&to=2")
    assert _cells(stays.text, f"case-{case_id}")[2] == (
        "stays: its current step &#39;needs_assessment&#39; is removed in version 2")
    page = client.get("/pathways/gate_reception/migrate?from=1&to=2"
                      "&renamed=needs_assessment%3Dassessment")
    assert "1 of 1 active case(s) would move" in page.text
    assert 'name="renamed" value="needs_assessment=assessment"' in page.text
    done = client.post("/pathways/gate_reception/migrate", data={
        "from": "1", "to": "2", "step": "", "renamed": "needs_assessment=assessment",
        "csrf_token": csrf_token(page.text)})
    assert done.status_code == 302
    assert _case_versions(site, [case_id]) == [2]
    history = client.get("/pathways/gate_reception/migrations").text
    assert "renames: needs_assessment \N{RIGHTWARDS ARROW} assessment" in history


@pytest.mark.parametrize(("renamed", "said"), [
    ("needs_assessment", "must be written old=new"),
    ("nothing%3Dassessment", "version 1 has no step"),
    ("needs_assessment%3Dnothing", "version 2 has no step")])
def test_a_renaming_that_cannot_be_is_refused(site: Site, tmp_path: Path, renamed: str,
                                              said: str) -> None:
    case_id = _renamed_version(site, tmp_path)
    refused = _signed_in(site, "designer").get(
        f"/pathways/gate_reception/migrate?from=1&to=2&renamed={renamed}")
    assert refused.status_code == 400
    assert said in refused.text
    assert _case_versions(site, [case_id]) == [1]
