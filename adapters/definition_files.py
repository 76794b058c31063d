"""Read definitions from disk for publishing: BPMN with its forms, or DSL YAML compiled."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from dsl import compile_pathway, load_pathway
from engine.definitions import ROLES_SUFFIX, referenced_files
from engine.errors import DefinitionError

BPMN_SUFFIXES = (".bpmn",)
YAML_SUFFIXES = (".yaml", ".yml")
DEFINITION_SUFFIXES = BPMN_SUFFIXES + YAML_SUFFIXES
DEFAULT_NOTE = "published by init"

_EARLIER_VERSION = re.compile(r"^(?P<name>.+)\.v(?P<number>[1-9][0-9]*)$")
_NOTE = re.compile(r"^#\s*note:\s*(?P<note>.*?)\s*$")


def read_bundle(path: Path, *, known_pathways: Collection[str] | None = None
                ) -> tuple[dict[str, str], str]:
    """(files by name, main BPMN file name) ready to publish.

    For a DSL file the bundle holds its YAML source, the compiled BPMN and the form schemas;
    DslError reports every problem with its location. For BPMN, the forms its user tasks
    name are read from beside it.
    """
    if not path.is_file():
        raise DefinitionError("no such file", file=str(path))
    if path.suffix in YAML_SUFFIXES:
        return _read_dsl(path, known_pathways)
    if path.suffix not in BPMN_SUFFIXES:
        raise DefinitionError(f"cannot publish a {path.suffix or 'suffix-less'} file; "
                              "expected .bpmn, .yaml or .yml", file=str(path))
    main = path.name
    text = _read_text(path)
    files = {main: text}
    for name in referenced_files(text, str(path)):
        form = path.parent / name
        if not form.is_file():
            line, column = _where(text, f'"{name}"')
            raise DefinitionError(f"form file {name!r} named by a user task was not found "
                                  f"next to it (looked for {form})", file=str(path),
                                  line=line, column=column)
        files[name] = _read_text(form)
    roles = path.parent / f"{Path(main).stem}{ROLES_SUFFIX}"
    if roles.is_file():  # who may do the tasks; without it every lane is open to everyone
        files[roles.name] = _read_text(roles)
    return files, main


def _read_dsl(path: Path, known_pathways: Collection[str] | None
              ) -> tuple[dict[str, str], str]:
    text = _read_text(path)
    document = load_pathway(text, str(path), known_pathways=known_pathways)
    compiled = compile_pathway(document)
    return {f"{compiled.pathway}.yaml": text, **compiled.files()}, compiled.bpmn_file


def definition_paths(folder: Path) -> list[Path]:
    """The publishable files of a definitions folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.suffix in DEFINITION_SUFFIXES)


def pathway_name(path: Path) -> str:
    """The pathway a definitions file is (a version of): NAME for NAME.yaml and NAME.vN.yaml."""
    match = _EARLIER_VERSION.match(path.stem)
    return match["name"] if match else path.stem


def _earlier_version(path: Path) -> int | None:
    """N for an earlier version NAME.vN.yaml (or .bpmn), None for a pathway's current file."""
    match = _EARLIER_VERSION.match(path.stem)
    return int(match["number"]) if match else None


def publish_note(path: Path) -> str:
    """The note to publish a file with: a `# note: ...` line in a YAML file's leading
    comments, else DEFAULT_NOTE."""
    if path.suffix in YAML_SUFFIXES:
        for line in _read_text(path).splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                break  # the leading comments are over
            match = _NOTE.match(stripped)
            if match and match["note"]:
                return match["note"]
    return DEFAULT_NOTE


def publish_order(folder: Path) -> list[tuple[Path, str]]:
    """(file, note) for every publishable file of a definitions folder, in publishing order.

    NAME.vN.yaml (or .bpmn) files are earlier versions of pathway NAME: they are published in
    N order before NAME.yaml, so a fresh database gets the pathway's history. Pathways with a
    BPMN file come before DSL-only ones (DSL pathways may call or refer to them); otherwise the
    order is by pathway name.
    """
    by_pathway: dict[str, list[Path]] = {}
    for path in definition_paths(folder):
        by_pathway.setdefault(pathway_name(path), []).append(path)
    ordered: list[Path] = []
    for name in sorted(by_pathway, key=lambda n: (
            not any(p.suffix in BPMN_SUFFIXES for p in by_pathway[n]), n)):
        versions: dict[int, Path] = {}
        current: list[Path] = []
        for path in by_pathway[name]:
            number = _earlier_version(path)
            if number is None:
                current.append(path)
            elif number in versions:
                raise DefinitionError(f"two files for version {number} of {name}: "
                                      f"{versions[number].name} and {path.name}",
                                      file=str(path))
            else:
                versions[number] = path
        ordered += [versions[number] for number in sorted(versions)]
        ordered += sorted(current, key=lambda p: (p.suffix not in BPMN_SUFFIXES, p.name))
    return [(path, publish_note(path)) for path in ordered]


def _where(text: str, needle: str) -> tuple[int | None, int | None]:
    """1-based line and column of the first occurrence of needle, if any."""
    for number, line in enumerate(text.splitlines(), start=1):
        column = line.find(needle)
        if column >= 0:
            return number, column + 2  # the column of the name, inside its quote
    return None, None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DefinitionError(f"file is not UTF-8 text (byte {err.start})", file=str(path)) from err
