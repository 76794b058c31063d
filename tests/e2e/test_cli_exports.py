"""Exports from the CLI: publish a small DSL pathway, run a case, export it as XES, CSV of
cases and tasks, and an INDIGO project document (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from engine.exports import CASE_COLUMNS, TASK_COLUMNS, XES_NAMESPACE
from tests.e2e.test_cli import Cli

PATHWAY = """pathway: housing_help
title: Housing help
organisation: st_giles
roles:
  worker: {title: Worker, organisations: [st_giles]}
steps:
  - task: intake
    role: worker
    title: Intake
    form:
      needs_housing: {type: boolean, required: true, title: Needs housing}
      note: {type: text, title: Note}
  - record: housed
    outcome: housed
    value: needs_housing
  - task: follow_up
    role: worker
    title: Follow up
"""
NS = {"x": XES_NAMESPACE}


def test_export_xes_csv_and_indigo(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "housing_help.yaml"
    source.write_text(PATHWAY)
    assert cli.json("publish", str(source))["version"] == 1
    client = cli.json("clients", "add", "--name", "Zoë <Z>")["id"]
    case = cli.json("cases", "start", "housing_help", "--client", str(client))
    task = case["tasks"][0]["id"]
    cli.json("tasks", "complete", task, "--data",
             json.dumps({"needs_housing": True, "note": "=1+1 & <b>"}), "--as", "amy & co")

    out = tmp_path / "out"
    xes_file, cases_file, tasks_file, indigo_file = (
        out / "log.xes", out / "cases.csv", out / "tasks.csv", out / "indigo.json")
    results = cli.many(["export", "xes", "-o", str(xes_file)],
                       ["export", "cases", "-o", str(cases_file)],
                       ["export", "tasks", "-o", str(tasks_file)],
                       ["export", "indigo", "-o", str(indigo_file), "--name", "One Service"])
    reports = [r.ok() for r in results]
    assert [(r["file"], r["format"]) for r in reports] == [
        (str(xes_file), "xes"), (str(cases_file), "csv"), (str(tasks_file), "csv"),
        (str(indigo_file), "indigo")]
    assert [r["records"] for r in reports[1:]] == [1, 1, 1]

    # XES: one trace, the case's events in order, the actor as org:resource
    root = ET.fromstring(xes_file.read_bytes())  # noqa: S314 - our own output
    assert root.tag == f"{{{XES_NAMESPACE}}}log" and root.get("xes.version") == "1849-2016"
    (trace,) = root.findall("x:trace", NS)
    events = trace.findall("x:event", NS)
    assert len(events) == reports[0]["records"] == len(cli.json("events", str(case["id"])))

    def attrs(element: ET.Element) -> dict[str, str]:
        return {child.get("key", ""): child.get("value", "") for child in element}

    # activities are named by the step's title, the step id beside it
    named = [(attrs(e)["concept:name"], attrs(e).get("step"), attrs(e)["lifecycle:transition"])
             for e in events]
    assert ("Intake", "intake", "schedule") in named
    assert ("Intake", "intake", "complete") in named
    assert ("Record: housed", "housed", "complete") in named
    assert ("Follow up", "follow_up", "schedule") in named
    done = next(attrs(e) for e in events if attrs(e)["event_type"] == "task_completed")
    assert done["org:resource"] == "amy & co"
    assert done["time:timestamp"].endswith("+00:00")

    # cases CSV: the fixed columns, then the case data, flattened
    rows = list(csv.DictReader(io.StringIO(cases_file.read_text("utf-8"), newline="")))
    assert list(rows[0])[:len(CASE_COLUMNS)] == list(CASE_COLUMNS)
    assert rows[0]["id"] == str(case["id"]) and rows[0]["status"] == "active"
    assert rows[0]["data.needs_housing"] == "true"
    assert rows[0]["data.note"] == "'=1+1 & <b>"

    # tasks CSV: the open follow-up task, the step the case waits at
    rows = list(csv.DictReader(io.StringIO(tasks_file.read_text("utf-8"), newline="")))
    assert tuple(rows[0]) == TASK_COLUMNS
    assert (rows[0]["case"], rows[0]["client"], rows[0]["waiting_for"], rows[0]["role"]) == (
        str(case["id"]), str(client), "follow_up", "worker")

    # INDIGO: the programme, its provider, and the outcome achieved for the one client
    project = json.loads(indigo_file.read_text("utf-8"))
    assert project["name"] == {"value": "One Service"}
    assert project["service_and_beneficiaries"][
        "actual_number_service_users_or_beneficiaries_total"] == {"value": 1}
    assert [p["organisation_id"] for p in project["service_provisions"]] == [
        {"value": "st_giles"}]
    assert [m["id"] for m in project["outcome_metrics"]] == ["housed"]
    assert project["results"][0]["number_with_positive_social_outcomes"] == {"value": 1}

    # without -o: the document itself on stdout, also with --json; --pathway filters
    stdout_xes, stdout_cases, other = cli.run_many([
        cli.argv(["export", "xes", "--pathway", "housing_help"]),
        cli.argv(["--json", "export", "cases"]),
        cli.argv(["export", "xes", "--pathway", "nothing_here"])])
    assert stdout_xes.returncode == 0 and stdout_xes.stdout == xes_file.read_text(
        "utf-8").replace("Pathways event log", "Pathways: housing_help")
    assert stdout_cases.returncode == 0
    assert stdout_cases.stdout == cases_file.read_text("utf-8")
    empty = ET.fromstring(other.stdout.encode("utf-8"))  # noqa: S314 - our own output
    assert empty.findall("x:trace", NS) == []


def test_export_events_and_xes_name_the_branch_taken_and_redact_a_sensitive_one(
        cli: Cli, tmp_path: Path) -> None:
    from tests.unit.engine.test_decision_exports import TRIAGE

    source = tmp_path / "triage.yaml"
    source.write_text(TRIAGE)
    cli.json("publish", str(source))
    client = cli.json("clients", "add", "--name", "Ann")["id"]
    case = cli.json("cases", "start", "triage", "--client", str(client))
    cli.json("tasks", "complete", case["tasks"][0]["id"], "--data",
             json.dumps({"uses_drugs": True, "wants_work": True}))
    work = cli.json("cases", "show", str(case["id"]))["tasks"][0]["id"]
    cli.json("tasks", "complete", work, "--data", "{}")

    redacted_csv, full_csv, redacted_xes, full_xes = cli.run_many([
        cli.argv(["export", "events"]), cli.argv(["export", "events", "--full"]),
        cli.argv(["export", "xes"]), cli.argv(["export", "xes", "--full"])])

    def csv_branches(text: str) -> dict[str, str]:
        return {r["step"]: r["branch"] for r in csv.DictReader(io.StringIO(text, newline=""))
                if r["type"] == "decision"}

    def xes_branches(text: str) -> dict[str, str]:
        root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output
        found = [{c.get("key"): c.get("value") for c in e}
                 for e in root.findall("x:trace/x:event", NS)]
        # concept:name is the gateway's title; the step attribute its id
        assert all(e["concept:name"] == f"{e['step'][3:].replace('_', ' ').capitalize()}?"
                   for e in found if e["event_type"] == "decision"), found
        return {str(e["step"]): str(e["branch"]) for e in found
                if e["event_type"] == "decision"}

    both = {"gw_work": "wants work", "gw_drugs": "uses drugs"}
    assert csv_branches(full_csv.stdout) == xes_branches(full_xes.stdout) == both
    assert csv_branches(redacted_csv.stdout) == xes_branches(redacted_xes.stdout) == {
        "gw_work": "wants work"}
    for result in (redacted_csv, redacted_xes):
        assert result.returncode == 0
        assert "uses_drugs" not in result.stdout and "gw_drugs" not in result.stdout
        assert "uses drugs" not in result.stdout and "Uses drugs" not in result.stdout


def one_of_three_with(cli: Cli, tmp_path: Path, outcome: str) -> None:
    """The housing pathway published with `outcome` as its step outcome (in place of housed),
    and three clients' cases run: the first client's answer leads to that outcome, the other
    two's do not."""
    source = tmp_path / "housing_help.yaml"
    source.write_text(PATHWAY.replace("outcome: housed", f"outcome: {outcome}"))
    cli.json("publish", str(source))
    for needs in (True, False, False):
        client = cli.json("clients", "add", "--name", "A")["id"]
        case = cli.json("cases", "start", "housing_help", "--client", str(client))
        cli.json("tasks", "complete", case["tasks"][0]["id"], "--data",
                 json.dumps({"needs_housing": needs}))


def test_export_indigo_counts_a_lower_is_better_outcome_as_the_programme_configures_it(
        cli: Cli, tmp_path: Path) -> None:
    """An outcome the programme file's measure says is better lower (direction:
    lower_is_better) counts the clients who did not have it as positive social outcomes;
    --lower-is-better names one that no measure configures (a step's own outcome)."""
    one_of_three_with(cli, tmp_path, "evicted")
    programme = tmp_path / "programme.yaml"
    programme.write_text(
        "programme: P\npayment_mechanism: {cohort_threshold_percent: 10,\n"
        "  overall_threshold_percent: 7.5, price_per_event_avoided: 1}\n"
        "outcome_measures:\n"
        "  - {kind: evicted, type: binary, direction: lower_is_better}\n")

    def positive(*options: str) -> object:
        project = cli.json("export", "indigo", *options)
        return project["results"][0]["number_with_positive_social_outcomes"]

    assert positive() == {"value": 1}  # unconfigured: higher is better, as before
    assert positive("--programme", str(programme)) == {"value": 2}
    assert positive("--lower-is-better", "evicted") == {"value": 2}


def test_export_indigo_reads_the_programme_file_by_default(cli: Cli, tmp_path: Path) -> None:
    """Issue 12.8: `reconvicted`, recorded by a pathway step, is never reported as a positive
    social outcome: without --programme the export reads the programme file of the
    definitions folder (definitions/programmes/peterborough.yaml, whose reconviction measure
    names it as a lower-is-better step outcome). Without a programme file, as before."""
    one_of_three_with(cli, tmp_path, "reconvicted")

    project = cli.json("export", "indigo")
    (result,) = project["results"]
    assert result["outcome_metric_id"] == {"value": "reconvicted"}
    assert result["number_with_positive_social_outcomes"] == {"value": 2}
    assert "Lower is better" in project["outcome_metrics"][0]["definition"]["value"]

    empty = tmp_path / "no_programme"
    (empty / "programmes").mkdir(parents=True)
    bare = cli.run_argv(cli.argv(["--json", "export", "indigo"]),
                        env={"PATHWAYS_DEFINITIONS_DIR": str(empty)}).ok()
    assert bare["results"][0]["number_with_positive_social_outcomes"] == {"value": 1}
