"""Commands that choose and change the version cases run on: allocate, migrate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from adapters.cli.common import ID, Context, UsageProblem, cli, command, emit
from engine import InvalidArgumentError
from engine.cases import MigrationReport
from engine.model import AllocationPolicy, Migration, MigrationCase
from engine.numbers import MAX_ID, parse_int

# -- allocation, migration ------------------------------------------------------------


def policy_json(policy: AllocationPolicy) -> dict[str, Any]:
    return {"pathway": policy.pathway, "policy": policy.kind, "version": policy.version,
            "weights": {str(k): v for k, v in sorted(policy.weights.items())},
            "seed": policy.seed,
            "set_at": policy.set_at.isoformat() if policy.set_at else None,
            "set_by": policy.set_by}


def _policy_text(policy: AllocationPolicy) -> str:
    if policy.kind == "fixed":
        what = f"fixed: every new case gets v{policy.version}"
    elif policy.kind == "split":
        total = sum(policy.weights.values())
        shares = ", ".join(f"v{k} {100 * v / total:.0f}%" for k, v in
                           sorted(policy.weights.items()))
        what = f"split: {shares} (seed {policy.seed})"
    else:
        what = "latest: every new case gets the latest version"
    return f"{policy.pathway}: {what}"


def _parse_split(text: str) -> dict[int, int]:
    weights: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        version, sep, weight = part.partition("=")
        try:
            if not sep:
                raise ValueError
            number = parse_int(version, field="version", minimum=1, maximum=MAX_ID)
            share = parse_int(weight, field="weight", minimum=0, maximum=10**6)
        except InvalidArgumentError as err:
            raise UsageProblem(f"--split: {part[:40]!r}: {err.message}",
                               details={"field": "split"}) from err
        except ValueError as err:
            raise UsageProblem(f"--split {text!r}: {part!r} is not VERSION=WEIGHT "
                               "(e.g. 1=50,2=50)", details={"field": "split"}) from err
        if number in weights:
            raise UsageProblem(f"--split {text!r}: version {number} is given twice",
                               details={"field": "split"})
        weights[number] = share
    return weights


@cli.command()
@click.argument("pathway")
@click.option("--latest", is_flag=True, help="New cases get the latest version (default).")
@click.option("--fixed", type=ID, metavar="N", help="New cases get version N.")
@click.option("--split", metavar="V=W,...", help="Randomise new cases between versions by "
              "weight, e.g. 1=50,2=50.")
@click.option("--seed", help="Seed of the split's draws (default: a random one, recorded).")
@click.option("--as", "actor", help="Who sets the policy.")
@command
def allocate(ctx: Context, pathway: str, latest: bool, fixed: int | None, split: str | None,
             seed: str | None, actor: str | None) -> None:
    """Set (or, with no option, show) which version new cases of PATHWAY get."""
    chosen = [name for name, given in (("--latest", latest), ("--fixed", fixed is not None),
                                       ("--split", split is not None)) if given]
    if len(chosen) > 1:
        raise UsageProblem(f"give one of --latest, --fixed, --split (got {', '.join(chosen)})",
                           details={"options": chosen})
    if seed is not None and split is None:
        raise UsageProblem("--seed only goes with --split", details={"field": "seed"})
    engine = ctx.app.engine
    if not chosen:
        policy = engine.allocation(pathway)
    elif latest:
        policy = engine.set_allocation(pathway, "latest", actor=actor)
    elif fixed is not None:
        policy = engine.set_allocation(pathway, "fixed", version=fixed, actor=actor)
    else:
        assert split is not None
        policy = engine.set_allocation(pathway, "split", weights=_parse_split(split),
                                       seed=seed, actor=actor)
    emit(ctx.json_mode, policy_json(policy), lambda: _policy_text(policy))


class _MigrateGroup(click.Group):
    """`pathways migrate PATHWAY ...` runs a migration; `migrate revert|list|show ...` the rest."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        position = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if position is not None and args[position] in self.commands:
            args = [args[position], *args[:position], *args[position + 1:]]
        elif args and args != ["--help"]:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_MigrateGroup)
def migrate() -> None:
    """Move running cases between versions: `migrate PATHWAY --from A --to B`, and
    `migrate revert ID`, `migrate list`, `migrate show ID`."""


def migration_report_json(report: MigrationReport) -> dict[str, Any]:
    return {"migration": report.migration, "pathway": report.pathway,
            "from": report.from_version, "to": report.to_version, "dry_run": report.dry_run,
            "reverts": report.reverts,
            "moved": sum(r.ok for r in report.cases),
            "refused": sum(not r.ok for r in report.cases),
            "cases": [{"case": r.case, "ok": r.ok, "reason": r.reason,
                       "from_step": r.from_step, "to_step": r.to_step}
                      for r in report.cases]}


def _report_text(report: MigrationReport) -> str:
    verb = "would move" if report.dry_run else "moved"
    moved = sum(r.ok for r in report.cases)
    head = (f"dry run: {report.pathway} v{report.from_version} -> v{report.to_version}"
            if report.dry_run else
            f"migration {report.migration}: {report.pathway} v{report.from_version} -> "
            f"v{report.to_version}" + (f" (reverts migration {report.reverts})"
                                       if report.reverts else ""))
    lines = [f"{head}: {verb} {moved} case(s), refused {len(report.cases) - moved}"]
    for r in report.cases:
        if r.ok:
            lines.append(f"  case {r.case}: {verb} ({r.from_step or '-'} -> {r.to_step or '-'})")
        else:
            lines.append(f"  case {r.case}: refused: {r.reason}")
    return "\n".join(lines)


def _progress(json_mode: bool) -> Callable[[int, int], None]:
    """Progress on stderr for batches of 50 cases or more, about every tenth of the way."""

    def report(done: int, total: int) -> None:
        if total >= 50 and (done == total or done % max(1, total // 10) == 0):
            click.echo(f"{done}/{total} cases", err=True)

    return report


def _parse_where(conditions: tuple[str, ...]) -> list[str]:
    steps = []
    for condition in conditions:
        key, sep, value = condition.partition("=")
        if key.strip() != "step" or not sep or not value.strip():
            raise UsageProblem(f"--where {condition!r}: expected step=STEP_ID",
                               details={"field": "where", "value": condition})
        steps.append(value.strip())
    return steps


def _parse_map(pairs: tuple[str, ...]) -> dict[str, str]:
    """--map OLD=NEW, repeatable: a step of the old version renamed in the new one."""
    renames: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = (part.strip() for part in pair.partition("="))
        if not sep or not old or not new:
            raise UsageProblem(f"--map {pair!r}: expected OLD_STEP=NEW_STEP",
                               details={"field": "map", "value": pair})
        if old in renames:
            raise UsageProblem(f"--map {pair!r}: step {old!r} is already mapped to "
                               f"{renames[old]!r}", details={"field": "map", "value": pair})
        renames[old] = new
    return renames


@migrate.command("run", hidden=True)
@click.argument("pathway")
@click.option("--from", "from_version", type=ID, required=True, help="Version cases are on.")
@click.option("--to", "to_version", type=ID, required=True, help="Version to move them to.")
@click.option("--dry-run", is_flag=True, help="Only say what would happen; change nothing.")
@click.option("--where", "conditions", multiple=True, metavar="step=ID",
              help="Only cases now at this step (repeatable: any of them).")
@click.option("--case", "case_ids", type=ID, multiple=True, help="Only this case "
              "(repeatable).")
@click.option("--map", "renames", multiple=True, metavar="OLD=NEW",
              help="A step of --from renamed NEW in --to (repeatable; steps marked "
              "renamed_from in --to are mapped without it).")
@click.option("--as", "actor", help="Who migrates.")
@command
def migrate_run(ctx: Context, pathway: str, from_version: int, to_version: int,
                dry_run: bool, conditions: tuple[str, ...], case_ids: tuple[int, ...],
                renames: tuple[str, ...], actor: str | None) -> None:
    """Move PATHWAY's active cases from version --from to --to, each only if it is safe."""
    report = ctx.app.engine.migrate(
        pathway, from_version, to_version, dry_run=dry_run, steps=_parse_where(conditions),
        case_ids=case_ids, actor=actor, progress=_progress(ctx.json_mode),
        renames=_parse_map(renames))
    emit(ctx.json_mode, migration_report_json(report), lambda: _report_text(report))


@migrate.command("revert")
@click.argument("migration_id", type=ID)
@click.option("--as", "actor", help="Who reverts.")
@command
def migrate_revert(ctx: Context, migration_id: int, actor: str | None) -> None:
    """Put the cases migration MIGRATION_ID moved back where they were."""
    report = ctx.app.engine.revert_migration(migration_id, actor=actor,
                                             progress=_progress(ctx.json_mode))
    emit(ctx.json_mode, migration_report_json(report), lambda: _report_text(report))


def migration_json(migration: Migration) -> dict[str, Any]:
    return {"migration": migration.id, "pathway": migration.pathway,
            "from": migration.from_version, "to": migration.to_version,
            "actor": migration.actor, "filter": migration.filter, "reverts": migration.reverts,
            "created_at": migration.created_at.isoformat(),
            "finished_at": migration.finished_at.isoformat() if migration.finished_at else None}


@migrate.command("list")
@click.option("--pathway", help="Only migrations of this pathway.")
@command
def migrate_list(ctx: Context, pathway: str | None) -> None:
    """Every migration and revert, oldest first."""
    found = ctx.app.engine.migrations(pathway)
    emit(ctx.json_mode, [migration_json(m) for m in found],
          lambda: "\n".join(
              f"{m.id}  {m.created_at:%Y-%m-%d %H:%M}  {m.pathway} v{m.from_version} -> "
              f"v{m.to_version}  {m.actor or '-'}"
              + (f"  (reverts {m.reverts})" if m.reverts else "") for m in found)
          or "no migrations")


@migrate.command("show")
@click.argument("migration_id", type=ID)
@command
def migrate_show(ctx: Context, migration_id: int) -> None:
    """One migration with what it did to each case."""
    migration, results = ctx.app.engine.migration(migration_id)
    payload = {**migration_json(migration), "cases": [
        {"case": r.case_id, "ok": r.ok, "reason": r.reason, "from_step": r.from_step,
         "to_step": r.to_step, "reverted_by": r.reverted_by,
         "waits_for_round": r.waits_for_round, "waiting": r.waiting,
         "moved_at": r.moved_at.isoformat() if r.moved_at else None,
         "moved_at_round": r.moved_at_round} for r in results]}
    emit(ctx.json_mode, payload, lambda: "\n".join(
        [f"migration {migration.id}: {migration.pathway} v{migration.from_version} -> "
         f"v{migration.to_version}"] + [f"  case {r.case_id}: {_case_text(r)}"
                                        for r in results]))


def _case_text(r: MigrationCase) -> str:
    if not r.ok:
        return (f"waits for its next round of {r.waits_for_round!r}: {r.reason}"
                if r.waiting else f"refused: {r.reason}")
    later = ("" if r.moved_at is None else f" at the start of round {r.moved_at_round}"
             if r.moved_at_round is not None else f" when its loop {r.waits_for_round!r} ended")
    return (f"moved{later} ({r.from_step or '-'} -> {r.to_step or '-'})"
            + (f", put back by {r.reverted_by}" if r.reverted_by else ""))
