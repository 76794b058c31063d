"""The dashboard leads with its decisions in words, a forest plot, and the figures behind a
toggle with human names and units; the version baseline is named and may be chosen (issue
12, items 5 and 7)."""

from __future__ import annotations

import csv
import html
import io
import re

from engine.outcomes.estimates import COLUMNS
from tests.web.conftest import Site, sign_in, site  # noqa: F401 - site: a fixture
from tests.web.test_dashboard import (  # noqa: F401 - programme: a fixture
    open_case,
    programme,
    released,
    without_disclosure_control,
)

URL = "/dashboard?pathway=gate_reception&outcome=met_at_gate"


def _visible(page: str) -> str:
    """The page's text as read (no tags, no attributes: a URL may hold anything)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_page_leads_with_the_decision_in_words_and_names_its_baseline(
        programme: Site) -> None:  # noqa: F811
    without_disclosure_control(programme)
    client = programme.client()
    sign_in(client, "cam")
    page = client.get(URL).text
    decision = page.index("Did version 2 differ in met at gate from version 1?")
    assert decision < page.index("<details class=\"figures-toggle\">")  # words first
    assert "Every version is compared with <strong>version 1</strong> (baseline, the earliest " \
        "version" in page
    assert '<option value="1" selected>version 1</option>' in page  # the choice offered
    assert "<summary>Figures: versions compared</summary>" in page
    forest = re.search(r'<img src="(/dashboard/forest\.svg\?[^"]+)"', page)
    assert forest is not None
    chart = client.get(html.unescape(forest.group(1)))
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert "<svg" in chart.text and "script" not in chart.headers["Content-Security-Policy"]
    text = _visible(page)
    for raw in ("ci low", "ci_low", "estimate ci high", "p value", "small_sample", "True"):
        assert raw not in text, raw
    assert not re.search(r"\de[-+]\d", text)  # no 1.084e-19
    assert "Fisher's exact p (small samples)" in text and "Small sample?" in text
    assert "33.3%" in text and "+66.7 points" in text  # version 1: 1 of 3; v2 2 of 2


def test_the_version_baseline_can_be_chosen_and_a_bad_one_is_a_clear_400(
        programme: Site) -> None:  # noqa: F811
    without_disclosure_control(programme)
    client = programme.client()
    sign_in(client, "cam")
    page = client.get(URL + "&versus=2").text
    assert "Every version is compared with <strong>version 2</strong> (baseline, chosen)" \
        in page
    assert "Version 1 lowered met at gate by 66.7 points" in page
    assert '<option value="2" selected>version 2</option>' in page
    assert client.get("/dashboard/forest.svg?pathway=gate_reception&outcome=met_at_gate"
                      "&versus=2").status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/dashboard/versions.csv?pathway=gate_reception&outcome=met_at_gate&versus=2").text)))
    assert tuple(rows[0]) == COLUMNS  # the download keeps its columns
    assert {r["compared_with"] for r in rows if r["group"] == "version 1"
            and r["measure"] == "met_at_gate"} == {"version 2"}
    for bad in ("7", "two", "1.5"):
        answer = client.get(URL + f"&versus={bad}")
        assert answer.status_code == 400, bad
        assert "choose one of the versions with cases (1, 2)" in answer.text
        assert client.get("/dashboard/forest.svg?pathway=gate_reception&outcome=met_at_gate"
                          f"&versus={bad}").status_code == 400


def test_a_split_says_its_decisions_with_the_holm_adjusted_p(programme: Site) -> None:  # noqa: F811
    without_disclosure_control(programme)
    client = programme.client()
    sign_in(client, "cam")
    for number in range(4):
        released(programme, f"More {number}", "2026-01-10", number % 2 == 0, version=1)
    for number in range(2):  # a third group: no answer yet
        open_case(programme, f"Open {number}", version=1)
    page = client.get(URL + "&field=met_at_gate&baseline=false").text
    text = _visible(page)
    assert "Did cases with met at gate “true” differ in met at gate from “false”?" in text
    assert "Cases with met at gate “true” raised met at gate by 100.0 points" in text
    assert "adjusted for the several groups compared (Holm)" in text
    assert "Cases with met at gate “(missing)” against “false”: no comparison possible" in text
    assert "<summary>Figures: split by met at gate</summary>" in page
    forest = client.get("/dashboard/forest.svg?pathway=gate_reception&outcome=met_at_gate"
                        "&field=met_at_gate&baseline=false")
    assert forest.status_code == 200 and "“true” vs “false”" in forest.text


def test_without_an_outcome_there_is_no_forest(programme: Site) -> None:  # noqa: F811
    client = programme.client()
    sign_in(client, "cam")
    for user_page in (client.get("/dashboard?pathway=family_support"),):
        assert user_page.status_code == 200
        assert "forest.svg" not in user_page.text
    assert client.get("/dashboard/forest.svg?pathway=family_support").status_code == 404
