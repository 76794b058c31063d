"""Read BPMN fixtures from tests/data as publishable bundles (BPMN plus the forms it names)."""

from __future__ import annotations

from pathlib import Path

from engine.definitions import referenced_files

DATA = Path(__file__).parent / "data"


def bundle(name: str, script: str | None = None) -> tuple[dict[str, str], str]:
    """tests/data/<name>.bpmn and its forms; `script` replaces the placeholder SCRIPT."""
    main = f"{name}.bpmn"
    text = (DATA / main).read_text()
    if script is not None:
        text = text.replace("SCRIPT", script)
    files = {main: text}
    for ref in referenced_files(text, main):
        files[ref] = (DATA / ref).read_text()
    return files, main


def edited_bundle(name: str, old: str, new: str) -> tuple[dict[str, str], str]:
    """bundle(name) with the text `old` of its BPMN (which must be there) replaced by `new`."""
    files, main = bundle(name)
    assert old in files[main], old
    files[main] = files[main].replace(old, new)
    return files, main
