"""The designer's pages (issue 14): the pathways, their versions and how new cases are given
one, in the browser rather than only from the command line (`pathways versions list`).

What is shown is about definitions and counts of cases, never a client's record, so the
people who design or pay for a service see it: designers, commissioners and admins. Case
staff work in their inbox and see no page here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import NotFound

from engine.errors import NotFoundError
from engine.model import AllocationPolicy, PathwayVersion
from web.security import application, roles_required

bp = Blueprint("designer", __name__)
READERS = ("designer", "commissioner", "admin")


@dataclass(frozen=True)
class PathwayRow:
    """One pathway as the list shows it."""

    latest: PathwayVersion
    versions: int
    cases: int
    policy: str


def policy_in_words(policy: AllocationPolicy) -> str:
    """How the pathway's new cases get their version, as a designer would say it."""
    if policy.kind == "fixed" and policy.version is not None:
        return f"every new case on v{policy.version}"
    if policy.kind == "split" and policy.weights:
        total = sum(policy.weights.values())
        shares = ", ".join(f"v{number} {100 * weight / total:.0f}%"
                           for number, weight in sorted(policy.weights.items()))
        seed = f" (seed {policy.seed})" if policy.seed else ""
        return f"split at random: {shares}{seed}"
    return "every new case on the latest version"


@bp.get("/pathways")
@roles_required(*READERS)
def pathways() -> Any:
    engine = application().engine
    rows = []
    for latest in sorted(engine.definitions(), key=lambda v: v.pathway):
        found = engine.version_summaries(latest.pathway)
        rows.append(PathwayRow(latest, len(found), sum(s.cases for s in found),
                               policy_in_words(engine.allocation(latest.pathway))))
    return render_template("pathways.html", rows=rows)


@bp.get("/pathways/<name>")
@roles_required(*READERS)
def pathway(name: str) -> Any:
    engine = application().engine
    try:
        found = engine.version_summaries(name)
        policy = engine.allocation(name)
    except NotFoundError as err:
        raise NotFound(f"no pathway {name[:80]!r} is published") from err
    return render_template("pathway.html", name=name, summaries=list(reversed(found)),
                           policy=policy_in_words(policy), set_at=policy.set_at,
                           set_by=policy.set_by)
