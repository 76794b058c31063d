"""Read definitions from disk for publishing: BPMN with its forms, or DSL YAML compiled."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection
from pathlib import Path

from dsl import compile_pathway, load_pathway
from dsl.loader import load
from engine.errors import DefinitionError
from engine.workflow import (
    ROLES_SUFFIX,
    FileReference,
    check_file_references,
    file_name_problem,
    refused_reference,
)

BPMN_SUFFIXES = (".bpmn",)
YAML_SUFFIXES = (".yaml", ".yml")
DEFINITION_SUFFIXES = BPMN_SUFFIXES + YAML_SUFFIXES
DEFAULT_NOTE = "published by init"
MAX_FILE_BYTES = 2 * 1024 * 1024  # a definition file, or a form it names

_EARLIER_VERSION = re.compile(r"^(?P<name>.+)\.v(?P<number>[1-9][0-9]*)$")
_PATHWAY_ID = re.compile(r"[a-z][a-z0-9_]*")
_NOTE = re.compile(r"^#\s*note:\s*(?P<note>.*?)\s*$")


def read_bundle(path: Path, *, known_pathways: Collection[str] | None = None,
                folder: Path | None = None) -> tuple[dict[str, str], str]:
    """(files by name, main BPMN file name) ready to publish.

    For a DSL file the bundle holds its YAML source, the compiled BPMN and the form schemas;
    DslError reports every problem with its location. For BPMN, the forms its user tasks
    name are read from its folder, and only from there: every name must resolve inside the
    folder (no absolute paths, no '..', no symbolic link out) to a regular file of a sane
    size, else DefinitionError names the element and attribute and nothing is read.
    With `folder` (a definitions folder), the file itself must also lie inside it.
    """
    if not os.path.lexists(path):
        raise DefinitionError("no such file", file=str(path))
    if folder is not None:
        _inside(path, folder, what="definition file")
    if path.suffix in YAML_SUFFIXES:
        return _read_dsl(path, known_pathways)
    if path.suffix not in BPMN_SUFFIXES:
        raise DefinitionError(f"cannot publish a {path.suffix or 'suffix-less'} file; "
                              "expected .bpmn, .yaml or .yml", file=str(path))
    main = path.name
    text = _read_text(path.resolve())  # the file named on the command line, wherever it is
    files = {main: text}
    home = path.parent
    for ref in check_file_references(text, str(path)):
        if ref.name in files:
            continue
        files[ref.name] = _read_text(_resolve_reference(home, ref, str(path)), ref=ref,
                                     file=str(path))
    roles_name = f"{Path(main).stem}{ROLES_SUFFIX}"
    roles = home / roles_name
    if os.path.lexists(roles):  # who may do the tasks; without it every lane is open to all
        files[roles_name] = _read_text(_inside(roles, home, what="roles file"))
    return files, main


def _inside(path: Path, folder: Path, *, what: str) -> Path:
    """path with every symbolic link resolved, refused unless it lies inside folder."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DefinitionError(f"{what} not found", file=str(path)) from None
    if not resolved.is_relative_to(folder.resolve()):
        raise DefinitionError(f"{what} is a symbolic link to {resolved}, outside its folder "
                              f"{folder}", file=str(path))
    return resolved


def _resolve_reference(home: Path, ref: FileReference, file: str) -> Path:
    """Where a file named by a BPMN element is, inside home; a located error otherwise."""
    problem = file_name_problem(ref.name)
    if problem is not None:  # check_file_references has refused it already; kept for safety
        raise refused_reference(ref, file, problem)
    candidate = home / ref.name
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise refused_reference(ref, file, f"was not found in the definition's folder "
                                           f"(looked for {candidate})") from None
    if not resolved.is_relative_to(home.resolve()):
        raise refused_reference(ref, file, "is a symbolic link to a file outside the "
                                           "definition's folder")
    return resolved


def _read_dsl(path: Path, known_pathways: Collection[str] | None
              ) -> tuple[dict[str, str], str]:
    text = _read_text(path.resolve())
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


def pathway_id(path: Path) -> str:
    """The pathway a definitions file publishes: a YAML file's own `pathway:` id when it can
    be read (its file name may be anything, e.g. `My Draft.yaml`), else pathway_name."""
    if path.suffix in YAML_SUFFIXES:
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)
            document, _ = load(raw.decode("utf-8"), str(path))
        except (OSError, UnicodeDecodeError):
            document = None
        found = document.data.get("pathway") if document is not None else None
        if isinstance(found, str) and _PATHWAY_ID.fullmatch(found):
            return found
    return pathway_name(path)


def _earlier_version(path: Path) -> int | None:
    """N for an earlier version NAME.vN.yaml (or .bpmn), None for a pathway's current file."""
    match = _EARLIER_VERSION.match(path.stem)
    return int(match["number"]) if match else None


def publish_note(path: Path) -> str:
    """The note to publish a file with: a `# note: ...` line in a YAML file's leading
    comments, else DEFAULT_NOTE."""
    if path.suffix in YAML_SUFFIXES:
        for line in _read_text(path.resolve()).splitlines():
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
        _inside(path, folder, what="definition file")  # no link out of the folder
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


class _Unreadable(Exception):
    """Why a definition file cannot be read (the caller says where)."""


def _read_text(path: Path, *, ref: FileReference | None = None, file: str = "") -> str:
    """A definition file's text; for a file a BPMN element names (ref), errors name it."""
    try:
        data = _read_regular_file(path)
        return data.decode("utf-8")
    except _Unreadable as problem:
        if ref is not None:
            raise refused_reference(ref, file, str(problem)) from None
        raise DefinitionError(f"the file {problem}", file=str(path)) from None
    except UnicodeDecodeError as err:
        if ref is not None:
            raise refused_reference(ref, file, f"is not UTF-8 text (byte {err.start})") from err
        raise DefinitionError(f"file is not UTF-8 text (byte {err.start})",
                              file=str(path)) from err


def _read_regular_file(path: Path) -> bytes:
    """Only a regular file of at most MAX_FILE_BYTES is read. It is opened without blocking
    and without following a final link, and checked after opening, so a FIFO or device never
    hangs or feeds the publisher, and a file swapped for a link after the checks is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as err:
        raise _Unreadable("is a symbolic link" if err.errno == errno.ELOOP
                          else f"cannot be opened ({err.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("is not a regular file (a folder, FIFO or device cannot be "
                              "part of a definition)")
        if info.st_size > MAX_FILE_BYTES:
            raise _Unreadable(f"is {info.st_size} bytes, more than the {MAX_FILE_BYTES} "
                              "bytes a definition file may have")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(descriptor, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise _Unreadable(f"is more than the {MAX_FILE_BYTES} bytes a definition file "
                              "may have")
        return b"".join(chunks)
    finally:
        os.close(descriptor)
