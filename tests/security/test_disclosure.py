"""Statistical disclosure control on every aggregate of the dashboard (issue 10, item 3),
on SQLite and PostgreSQL: no table, CSV or chart shows a count from 1 to threshold - 1 or
anything computed from one; no hidden count can be worked out by subtraction from the rest
of its table and the totals; no split by a sensitive (health, offence) or free-text field is
offered or accepted, for any role that sees the dashboard."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from typing import Any

import pytest

from engine.outcomes.disclosure import DEFAULT_THRESHOLD, SUPPRESSED
from tests.web.conftest import PASSWORD, Site, sign_in, site  # noqa: F401 - site: a fixture
from tests.web.test_dashboard import programme, released  # noqa: F401 - a fixture

T = DEFAULT_THRESHOLD
PATHWAY = "pathway=gate_reception"
TABLES = ("versions", "gate", "field", "engagement")
SENSITIVE = ("risk_level", "needs_substance_misuse", "mental_health_concern")
FREE_TEXT = ("notes", "accommodation_provider", "substance_misuse_provider")
_STATISTICS = ("value", "ci_low", "ci_high", "estimate", "estimate_ci_low",
               "estimate_ci_high", "p_value", "exact_p_value")


@pytest.fixture
def trial(programme: Site) -> Site:  # noqa: F811
    """The dashboard fixture's 5 cases and 33 more: version 1 has 22 cases (12 met at the
    gate, 10 not), version 2 16 (13 met, 3 not: a small cell); a second caseworker does 3 cases (a
    small count of tasks) and a Mind worker 2 (a small organisation)."""
    accounts = programme.application.accounts
    accounts.add_organisation("mind", "Mind")
    accounts.add_user("cw2", "Second", "st_giles_trust", "caseworker", PASSWORD)
    accounts.add_user("mo", "Mo", "mind", "caseworker", PASSWORD)
    accounts.add_user("dee", "Dee", "moj", "designer", PASSWORD)
    accounts.add_user("ada", "Ada", "moj", "admin", PASSWORD)
    plan = [(1, True)] * 11 + [(1, False)] * 8 + [(2, True)] * 11 + [(2, False)] * 3
    for number, (version, met) in enumerate(plan):
        actor = "cw2" if number in (0, 12, 20) else "mo" if number in (5, 25) else "cw"
        released(programme, f"Trial {number}", "2026-01-10", met, version=version,
                 actor=actor)
    return programme


def _csv(client: Any, url: str) -> list[dict[str, str]]:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return list(csv.DictReader(io.StringIO(answer.text)))


def _number(text: str) -> float | None:
    return None if text in ("", SUPPRESSED) else float(text)


def _check_comparison(rows: list[dict[str, str]]) -> int:
    """The invariants of a comparison table; returns how many cells it hides."""
    hidden = 0
    where = {(r["cohort"], r["group"], r["measure"]): r for r in rows}
    partitions: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        n, count = _number(row["n"]), _number(row["count"])
        for value in (n, count):
            assert value is None or not 0 < value < T, row  # no small count shown
        plain_share = not row["measure"].endswith((" per 100", " hours", " from start")) \
            and row["measure"] != "cases"
        if plain_share and n is not None and count is not None:
            assert not 0 < n - count < T, row  # nor a small complement
        if row["count"] == SUPPRESSED or row["n"] == SUPPRESSED:
            hidden += 1
            assert all(row[c] in (SUPPRESSED, "") for c in _STATISTICS), row
        baseline = where.get((row["cohort"], row["compared_with"], row["measure"]))
        if baseline is not None and baseline["count"] == SUPPRESSED:
            assert all(row[c] in (SUPPRESSED, "") for c in _STATISTICS[3:]), row
        if row["group"] != "all" and not row["measure"].endswith((" hours", " from start")):
            partitions[(row["cohort"], row["measure"])].append(row)
    for key, members in partitions.items():
        suppressed = [r for r in members if r["count"] == SUPPRESSED]
        # one hidden group among several would be its table's total minus the others
        assert len(suppressed) != 1 or len(members) == 1, (key, members)
        totals = [where.get((key[0], "all", key[1]))]
        if suppressed and totals[0] is not None and len(members) > 1:
            assert len(suppressed) >= 2
    return hidden


def test_every_table_and_csv_hides_small_counts_and_cannot_be_subtracted(
        trial: Site) -> None:
    for user in ("cam", "dee", "ada"):
        client = trial.client()
        sign_in(client, user)
        hidden = 0
        for outcome in ("met_at_gate",):
            query = f"{PATHWAY}&outcome={outcome}&field=met_at_gate"
            for table in TABLES:
                rows = _csv(client, f"/dashboard/{table}.csv?{query}")
                hidden += _check_comparison(rows)
            versions = _csv(client, f"/dashboard/versions.csv?{query}")
            met = {r["group"]: r for r in versions
                   if r["cohort"] == "all" and r["measure"] == "met_at_gate"}
            # version 2: 13 of 16 met, 3 did not: hidden, and version 1 with it
            assert met["version 2"]["count"] == SUPPRESSED
            assert met["version 1"]["count"] == SUPPRESSED
            cases = {r["group"]: r for r in versions
                     if r["cohort"] == "all" and r["measure"] == "cases"}
            assert (cases["version 1"]["n"], cases["version 2"]["n"]) == ("22", "16")
            page = client.get(f"/dashboard?{query}").text
            # no decision from hidden cells: said to be hidden, with no figure
            assert "Version 2 against version 1: not shown" in page
            assert "Version 2 raised" not in page and "Version 2 lowered" not in page
            assert "38 case(s)" in page
        assert hidden > 0
        _check_activity(_csv(client, f"/dashboard/activity.csv?{PATHWAY}"))
        for row in _csv(client, "/dashboard/cohorts.csv"):
            for column in ("people", "events", "people_with_events", "windows_open"):
                value = _number(row[column])
                assert value is None or not 0 < value < T, row


def _check_activity(rows: list[dict[str, str]]) -> None:
    assert rows
    for row in rows:
        for column in ("tasks", "previous"):
            value = _number(row[column])
            assert value is None or not 0 < value < T, row
        if SUPPRESSED in (row["tasks"], row["previous"]):
            assert row["change"] == row["change_pct"] == SUPPRESSED
    organisations = {(r["name"], r["month"]): r for r in rows if r["level"] == "organisation"}
    mind = [r for r in organisations.values() if r["name"] == "mind"]
    assert mind and all(r["tasks"] == SUPPRESSED for r in mind)  # 4 tasks: a small count
    workers: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["level"] == "caseworker":
            workers[(row["organisation"], row["month"])].append(row)
    for (organisation, month), members in workers.items():
        total = organisations[(organisation, month)]
        suppressed = [r for r in members if r["tasks"] == SUPPRESSED]
        if total["tasks"] == SUPPRESSED:
            assert len(suppressed) == len(members)
        else:  # the organisation's month minus the shown caseworkers
            assert len(suppressed) != 1
    assert any(r["name"] == "cw2" and r["tasks"] == SUPPRESSED for r in rows)


def test_charts_are_drawn_from_the_protected_figures(trial: Site,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: dict[str, Any] = {}
    from web import charts

    def bars(title: str, labels: Any, values: Any, lows: Any, highs: Any,
             unit: str = "%") -> str:
        drawn["versions"] = (list(labels), list(values), list(lows), list(highs))
        return "<svg/>"

    def lines(title: str, x_labels: Any, series: Any, unit: str = "") -> str:
        drawn["activity"] = {name: list(values) for name, values in series.items()}
        return "<svg/>"

    monkeypatch.setattr(charts, "bars_with_intervals", bars)
    monkeypatch.setattr(charts, "lines", lines)
    client = trial.client()
    sign_in(client, "cam")
    for name in ("versions", "activity"):
        answer = client.get(f"/dashboard/{name}.svg?{PATHWAY}&outcome=met_at_gate")
        assert answer.status_code == 200
    labels, values, lows, highs = drawn["versions"]
    assert labels == ["v1", "v2"] and values == [None, None] and lows == highs == [None, None]
    assert all(math.isnan(v) for v in drawn["activity"]["mind"])
    assert not any(math.isnan(v) for v in drawn["activity"]["st_giles_trust"])


@pytest.mark.parametrize("user", ["cam", "dee", "ada"])
def test_no_split_by_a_sensitive_or_free_text_field(trial: Site, user: str) -> None:
    engine = trial.application.engine
    for case in engine.list_cases(pathway="gate_reception"):
        assert case.data.get("risk_level") == "low"  # the data is there to split by
    client = trial.client()
    sign_in(client, user)
    page = client.get(f"/dashboard?{PATHWAY}&outcome=met_at_gate").text
    assert '<option value="met_at_gate"' in page  # a yes/no answer may be split by
    for field in (*SENSITIVE, *FREE_TEXT, "client.release_date", "name", "../x"):
        assert f'<option value="{field}"' not in page
        for url in (f"/dashboard?{PATHWAY}&outcome=met_at_gate&field={field}",
                    f"/dashboard/field.csv?{PATHWAY}&outcome=met_at_gate&field={field}"):
            answer = client.get(url)
            assert answer.status_code == 400, (url, answer.status_code)
            assert "health or offence" in answer.text


def test_the_threshold_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.settings import Settings
    from engine.errors import InvalidArgumentError
    assert Settings.from_env("sqlite://").disclosure_threshold == 10
    monkeypatch.setenv("PATHWAYS_DISCLOSURE_THRESHOLD", "20")
    assert Settings.from_env("sqlite://").disclosure_threshold == 20
    for bad in ("1", "1e3", "0", "-5", "9" * 50):
        monkeypatch.setenv("PATHWAYS_DISCLOSURE_THRESHOLD", bad)
        with pytest.raises(InvalidArgumentError):
            Settings.from_env("sqlite://")


def test_the_decisions_and_the_forest_plot_never_give_a_hidden_figure_away(
        trial: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12, item 7: version 2's met at the gate (13 of 16, 3 not: a small cell) is
    hidden, and version 1's with it; its difference from version 1 (13/16 - 12/22 = +26.7
    points) must be neither in the sentence nor in the forest plot, which has a gap. The
    split by met_at_gate is drawn only from its shown figures."""
    drawn: dict[str, Any] = {}
    from web import charts

    def forest(title: str, labels: Any, effects: Any, lows: Any, highs: Any,
               unit: str = "points") -> str:
        drawn[title] = dict(zip(labels, zip(effects, lows, highs, strict=True), strict=True))
        return "<svg/>"

    monkeypatch.setattr(charts, "forest", forest)
    for user in ("cam", "dee", "ada"):
        client = trial.client()
        sign_in(client, user)
        for versus in ("1", "2"):
            query = f"{PATHWAY}&outcome=met_at_gate&field=met_at_gate&versus={versus}"
            page = client.get(f"/dashboard?{query}").text
            for figure in ("26.7", "81.2", "81.3", "54.5"):  # the difference, the shares
                assert figure not in page, figure
            assert "against version" in page and "not shown" in page
            drawn.clear()
            trial.app.extensions.pop("pathways_figures", None)  # drawn afresh, not kept
            assert client.get(f"/dashboard/forest.svg?{query}").status_code == 200
            [plotted] = drawn.values()
            assert plotted[f"v{3 - int(versus)} vs v{versus}"] == (None, None, None)
            rows = {r["group"]: r for r in _csv(client, f"/dashboard/field.csv?{query}")
                    if r["measure"] == "met_at_gate"}
            for label, effect in plotted.items():
                group = next((g for g in rows if f"“{g}” vs" in label), None)
                if group is not None and rows[group]["estimate"] in (SUPPRESSED, ""):
                    assert effect == (None, None, None), (label, effect)
