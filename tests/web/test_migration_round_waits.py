"""The migration page says which cases wait for their next round of a repeat, and when they
moved by themselves (issue 15: migrations that do not strand live cases)."""

from __future__ import annotations

from tests.integration.test_round_moves import V2
from tests.unit.engine.test_migration_compat import at_review
from tests.unit.engine.test_versions import publish
from tests.web.conftest import Site
from tests.web.test_designer_pages import _cells, _signed_in


def test_the_page_says_a_case_waits_then_when_it_moved(site: Site) -> None:
    engine = site.application.engine
    case_id = at_review(engine, V2)
    report = engine.migrate("referral", 1, 2, actor="dana")
    client = _signed_in(site, "designer")
    url = f"/pathways/referral/migrations/{report.migration}"
    page = client.get(url).text
    assert "0 of 1 case(s) moved; 1 wait(s) for the next round of a loop" in page
    [_, result] = _cells(page, f"case-{case_id}")
    assert result.startswith("waits for its next round of &#39;rounds&#39;: step "
                             "&#39;check_in&#39;, which this case has completed")
    assert result.endswith("and will move by itself then")
    assert "Put these cases back on v1" in page  # which ends the wait

    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    page = client.get(url).text
    assert "1 of 1 case(s) moved." in page
    [_, result] = _cells(page, f"case-{case_id}")
    assert result.startswith("moved at the start of round 2 (")
    assert result.endswith("UTC) from Check in to Check in")


def test_a_case_waiting_at_a_sensitive_step_is_not_listed_for_a_designer(site: Site) -> None:
    engine = site.application.engine
    sensitive = V2.replace("title: Review", "title: Review\n        sensitive: health")
    case_id = at_review(engine, sensitive.replace("[bad]", "[good, bad]"))
    publish(engine, sensitive)
    report = engine.migrate("referral", 1, 3)
    assert report.migration is not None and not report.cases[0].ok
    page = _signed_in(site, "designer").get(
        f"/pathways/referral/migrations/{report.migration}").text
    assert f'id="case-{case_id}"' not in page
    assert "1 case(s) are not listed" in page
