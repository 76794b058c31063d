"""Read a definition and the files it refers to from disk, for publishing."""

from __future__ import annotations

from pathlib import Path

from engine.definitions import referenced_files
from engine.errors import DefinitionError

DEFINITION_SUFFIXES = (".bpmn",)


def read_bundle(path: Path) -> tuple[dict[str, str], str]:
    """(files by name, main file name) for the BPMN file at path and the forms beside it."""
    if not path.is_file():
        raise DefinitionError("no such file", file=str(path))
    if path.suffix not in DEFINITION_SUFFIXES:
        raise DefinitionError(f"cannot publish a {path.suffix or 'suffix-less'} file; "
                              "expected a .bpmn file", file=str(path))
    main = path.name
    text = _read_text(path)
    files = {main: text}
    for name in referenced_files(text, str(path)):
        form = path.parent / name
        if not form.is_file():
            raise DefinitionError(f"form file {name!r} named by a user task was not found "
                                  f"next to it (looked for {form})", file=str(path))
        files[name] = _read_text(form)
    return files, main


def definition_paths(folder: Path) -> list[Path]:
    """The publishable files of a definitions folder, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.suffix in DEFINITION_SUFFIXES)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DefinitionError(f"file is not UTF-8 text (byte {err.start})", file=str(path)) from err
