"""Read definitions from disk for publishing: BPMN with its forms, or DSL YAML compiled."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from dsl import compile_pathway, load_pathway
from engine.definitions import referenced_files
from engine.errors import DefinitionError

BPMN_SUFFIXES = (".bpmn",)
YAML_SUFFIXES = (".yaml", ".yml")
DEFINITION_SUFFIXES = BPMN_SUFFIXES + YAML_SUFFIXES


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
    return files, main


def _read_dsl(path: Path, known_pathways: Collection[str] | None
              ) -> tuple[dict[str, str], str]:
    text = _read_text(path)
    document = load_pathway(text, str(path), known_pathways=known_pathways)
    compiled = compile_pathway(document)
    main = f"{compiled.pathway}.bpmn"
    return {f"{compiled.pathway}.yaml": text, main: compiled.bpmn, **compiled.forms}, main


def definition_paths(folder: Path) -> list[Path]:
    """The publishable files of a definitions folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.suffix in DEFINITION_SUFFIXES)


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
