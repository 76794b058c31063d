"""YAML text in, plain data out, with the line and column of every node and key.

PyYAML's SafeLoader composes the node graph (so scalars resolve as YAML 1.1 says: `yes` is
true, `12` an integer), then this module builds dicts, lists, str, int, float, bool and None
from it itself, keeping what a pathway author needs and refusing what could hurt:

- dates stay the text they were written as (`2026-01-01`), like durations (`P7D`);
- duplicate keys, which YAML silently lets the last one win, are reported (the first wins);
- keys must be text; integer keys become their decimal text (`1: Poor` in a scale's labels);
- anchors and aliases are refused (aliases enable "billion laughs" expansion), as are tags
  other than YAML's own scalar tags, merge keys, several documents, a root that is not a
  mapping, more than MAX_BYTES of text, nesting deeper than MAX_DEPTH and more than
  MAX_NODES nodes.

Every refusal is a located DslProblem, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingStartEvent,
    NodeEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dsl.errors import DslProblem

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 20_000

Path = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line and column

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "null", "bool", "int", "float", "timestamp")}


def format_path(path: Path) -> str:
    """("steps", 3, "form", "risk") -> "steps[3].form.risk"; () -> ""."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class _Span:
    start: int  # character index of the scalar's first character in the text
    end: int
    style: str | None  # None (plain), "'", '"', "|" or ">"


@dataclass
class LoadedDocument:
    """The document's data and where each part of it was written."""

    data: dict[str, Any]
    text: str
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)
    spans: dict[Path, _Span] = field(default_factory=dict)

    def where(self, path: Path) -> Position:
        """Position of the node at path, or of its nearest ancestor that was written."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def key_where(self, path: Path) -> Position:
        """Position of the key holding the value at path (the value itself for list items)."""
        return self.key_positions.get(path) or self.where(path)

    def inside(self, path: Path, offset: int) -> Position:
        """Position of character `offset` of the text value at path.

        Exact for one-line plain and quoted scalars written without escapes; otherwise the
        scalar's own position (the offset cannot be mapped back to the source reliably).
        """
        start = self.where(path)
        span = self.spans.get(path)
        value = value_at(self.data, path)
        if span is None or not isinstance(value, str):
            return start
        raw = self.text[span.start:span.end]
        if span.style in ("'", '"'):
            raw, quote = raw[1:-1], 1
        elif span.style is None:
            quote = 0
        else:
            return start
        if raw != value or "\n" in raw:
            return start
        offset = max(0, min(offset, max(len(value) - 1, 0)))
        return start[0], start[1] + quote + offset


def value_at(data: Any, path: Path) -> Any:
    """The value at path in loaded data, or None when the path does not lead anywhere."""
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


class _Refused(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader's composer with limits, checked as each node is composed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed: write the value "
                           "out in full instead", event.start_mark)
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise _Refused(f"YAML anchors (&{event.anchor}) are not allowed: remove the "
                           "anchor and write values out in full", event.start_mark)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(f"the document has more than {MAX_NODES} values: split the "
                           "pathway into smaller pathways joined with refer", event.start_mark)
        nested = isinstance(event, MappingStartEvent | SequenceStartEvent)
        if nested:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Refused(f"the document nests deeper than {MAX_DEPTH} levels: flatten "
                               "it (split deep steps into separate pathways)", event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            if nested:
                self.depth -= 1
        assert node is not None  # PyYAML returns None only at the end of the stream
        return node

    def single_document(self) -> Node | None:
        self.get_event()  # type: ignore[no-untyped-call]  # the stream start
        node = None if self.check_event(StreamEndEvent) else self.compose_document()
        if not self.check_event(StreamEndEvent):
            raise _Refused("a second YAML document starts here: a pathway file holds one "
                           "document; remove the '---' and what follows, or move it to its "
                           "own file", self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return node


class _Builder:
    """Plain data from the node graph, recording positions and problems as it goes."""

    def __init__(self, loader: _GuardedLoader, file: str, text: str) -> None:
        self.loader = loader
        self.file = file
        self.document = LoadedDocument(data={}, text=text)
        self.problems: list[DslProblem] = []

    def problem(self, position: Position, path: Path, message: str) -> None:
        self.problems.append(DslProblem(self.file, position[0], position[1],
                                        format_path(path), message))

    def build(self, node: Node, path: Path, key_position: Position | None = None) -> Any:
        position = _position(node.start_mark)
        if key_position is not None and _is_empty(node):
            position = key_position
        self.document.positions[path] = position
        if key_position is not None:
            self.document.key_positions[path] = key_position
        if isinstance(node, MappingNode):
            self._check_tag(node, f"{_TAG}map", path)
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            self._check_tag(node, f"{_TAG}seq", path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        if node.tag not in _SCALAR_TAGS:
            self.problem(position, path, f"the YAML tag {_tag_name(node.tag)} is not supported: "
                         "remove it and write plain text, numbers, true/false, lists or mappings")
            return node.value
        return self._scalar(node, path, position)

    def _check_tag(self, node: Node, expected: str, path: Path) -> None:
        if node.tag != expected:
            self.problem(_position(node.start_mark), path,
                         f"the YAML tag {_tag_name(node.tag)} is not supported: remove it and "
                         "write a plain list or mapping")

    def _scalar(self, node: ScalarNode, path: Path, position: Position) -> Any:
        tag = node.tag.removeprefix(_TAG)
        if tag in ("str", "timestamp"):
            self.document.spans[path] = _Span(node.start_mark.index, node.end_mark.index,
                                              node.style)
            return node.value
        try:
            if tag == "null":
                return None
            if tag == "bool":
                return self.loader.construct_yaml_bool(node)
            if tag == "int":
                return self.loader.construct_yaml_int(node)
            return self.loader.construct_yaml_float(node)
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
            self.problem(position, path, f"{node.value!r} is not a valid {tag}: remove the "
                         f"!!{tag} tag or correct the value")
            return node.value

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key_position = _position(key_node.start_mark)
            key = self._key(key_node, path, key_position)
            if key is None:
                continue
            if key in first_seen:
                line = first_seen[key][0]
                self.problem(key_position, (*path, key),
                             f"duplicate key {key!r}: it is already set at line {line}; a key "
                             "may appear once in a mapping, so remove or rename one of them")
                continue
            first_seen[key] = key_position
            result[key] = self.build(value_node, (*path, key), key_position)
        return result

    def _key(self, node: Node, path: Path, position: Position) -> str | None:
        if not isinstance(node, ScalarNode):
            kind = "mapping" if isinstance(node, MappingNode) else "list"
            self.problem(position, path, f"a key must be text, not a {kind}: write a plain "
                         "name before the ':'")
            return None
        if node.tag == f"{_TAG}merge":
            self.problem(position, path, "merge keys ('<<') are not supported: write the "
                         "keys out in full")
            return None
        if node.tag in (f"{_TAG}str", f"{_TAG}timestamp"):
            return str(node.value)
        if node.tag == f"{_TAG}int":
            try:
                return str(self.loader.construct_yaml_int(node))
            except (ValueError, TypeError):
                pass
        kind = {f"{_TAG}bool": "true or false", f"{_TAG}null": "empty (null)",
                f"{_TAG}float": "a decimal number"}.get(node.tag, "not plain text")
        self.problem(position, path, f"the key {node.value!r} reads as {kind} in YAML, but "
                     f"keys must be text: put it in quotes ('{node.value}')")
        return None


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _position(mark: Any) -> Position:
    return int(mark.line) + 1, int(mark.column) + 1


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "" and node.style is None


def _text_position(text: str, index: int) -> Position:
    before = text[:max(0, index)]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _yaml_problem(file: str, text: str, err: yaml.YAMLError) -> DslProblem:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        line, column = _position(mark) if mark is not None else (1, 1)
        what = err.problem or "invalid YAML"
        context = f" ({err.context})" if err.context else ""
        if err.context_mark is not None and mark is not err.context_mark:
            opened_line, opened_column = _position(err.context_mark)
            if (opened_line, opened_column) != (line, column):
                context += f", begun at line {opened_line}, column {opened_column}"
        hint = ("indent with spaces, not tabs" if "\\t" in what
                else "check the indentation, quotes and ':' near here; put text containing "
                     "': ' or ' #' in quotes")
        return DslProblem(file, line, column, "",
                          f"the YAML does not parse: {what}{context}: {hint}")
    if isinstance(err, yaml.reader.ReaderError):
        line, column = _text_position(text, err.position)
        character = err.character if isinstance(err.character, int) else 0
        return DslProblem(file, line, column, "",
                          f"the character #x{character:04x} is not allowed in YAML: remove it "
                          "(control characters cannot appear in a pathway file)")
    return DslProblem(file, 1, 1, "", f"the YAML does not parse: {err}")


def load(text: str, file: str) -> tuple[LoadedDocument | None, list[DslProblem]]:
    """The document (None when it cannot be loaded) and the problems found loading it."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return None, [DslProblem(file, 1, 1, "", f"the file is {size} bytes, more than the "
                                 f"{MAX_BYTES} allowed: split the pathway into smaller ones "
                                 "joined with refer")]
    try:
        loader = _GuardedLoader(text)
        try:
            root = loader.single_document()
        finally:
            loader.dispose()
    except _Refused as refused:
        return None, [DslProblem(file, *_position(refused.mark), "", refused.message)]
    except yaml.YAMLError as err:
        return None, [_yaml_problem(file, text, err)]
    if root is None:
        return None, [DslProblem(file, 1, 1, "", "the file is empty: a pathway starts with "
                                 "`pathway: <id>`, `title:`, `roles:` and `steps:`")]
    if not isinstance(root, MappingNode):
        found = "a list" if isinstance(root, SequenceNode) else "a single value"
        return None, [DslProblem(file, *_position(root.start_mark), "",
                                 f"the document is {found}, but a pathway is a mapping: start "
                                 "the file with `pathway: <id>` at the left margin")]
    builder = _Builder(loader, file, text)
    data = builder.build(root, ())
    builder.document.data = data
    return builder.document, builder.problems
