"""Commands that copy the whole database to a file and back: backup, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from adapters.cli.common import Context, cli, command, emit, redacted


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _summary(verb: str, report: dict[str, Any]) -> str:
    line = (f"{verb} {report['rows']} row(s) in {len(report['tables'])} table(s), "
            f"{_size(report['size'])}, schema revision {report['revision']}, "
            f"in {report['duration']:.1f} s")
    if report.get("migrated_to"):
        line += f"\nthe schema was then brought to revision {report['migrated_to']}"
    return line


@cli.command("backup")
@click.argument("output", metavar="FILE", type=click.Path(path_type=Path))
@command
def backup_command(ctx: Context, output: Path) -> None:
    """Write a consistent backup of the whole database to FILE, while it is in use.

    SQLite: a SQLite file (the online backup API). PostgreSQL: a pg_dump archive
    (--format=custom; needs pg_dump of the server's major version). FILE appears only
    when complete."""
    from adapters.sql.backup import backup

    report = backup(ctx.settings.database_url, output).to_json()
    emit(ctx.json_mode, {**report, "database": redacted(ctx.settings.database_url)},
         lambda: _summary(f"backed up {redacted(ctx.settings.database_url)} to {output}:",
                          report))


@cli.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--database", "target", metavar="URL",
              help="The database to restore into (default: the one --db or "
                   "$PATHWAYS_DATABASE_URL names).")
@click.option("--force", is_flag=True,
              help="Replace everything in a database that already holds data.")
@command
def restore_command(ctx: Context, file: Path, target: str | None, force: bool) -> None:
    """Bring the backup FILE (from `pathways backup`) back into an empty database.

    Refuses a database that holds data unless --force, a backup of the other kind of
    database, a damaged one, and one made by a newer Pathways (a schema revision this code
    does not know); one of an older revision is brought to the newest after restoring."""
    from adapters.sql.backup import restore

    ctx.database_url = target or ctx.database_url  # what a database error names
    url = ctx.settings.database_url
    report = restore(url, file, force=force).to_json()
    emit(ctx.json_mode, {**report, "database": redacted(url)},
         lambda: _summary(f"restored {file} into {redacted(url)}:", report))
