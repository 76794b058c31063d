"""Parsed definitions, kept so that a bundle is parsed, and checked for publishing, as seldom
as possible.

Parsing a bundle, and the checks before it is published, are pure functions of its files
and its main file; a parsed definition is only read afterwards (SpiffWorkflow builds each
case's workflow from the shared spec, and the engine's adjustments are made while parsing).
So the process keeps its latest parses by content, whichever runtime asks (`parsed_once`):
a version checked at publish and then run, or the same pathways published again, are parsed
once. Only successes are kept: a refused bundle is refused afresh, with its full message,
each time. `SpecCache` is one runtime's index by the version's stored hash, so a step finds
its spec without reading the bundle from storage.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Generic, TypeVar

from engine.workflow.bundle_files import bundle_hash
from engine.workflow.definition_model import ParsedDefinition
from engine.workflow.definitions import parse_bundle

V = TypeVar("V")
# parses kept for the whole process: the few distinct bundles the runtimes in it share
PROCESS_CAPACITY = 64


class Lru(Generic[V]):
    """A thread-safe map that drops the least recently used entry beyond its capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_PARSED: Lru[ParsedDefinition] = Lru(PROCESS_CAPACITY)
_PUBLISHABLE: Lru[ParsedDefinition] = Lru(PROCESS_CAPACITY)


def content_key(files: Mapping[str, str], main_file: str) -> str:
    """What a parse depends on: every file's name and text, and which one is the main."""
    return f"{bundle_hash(files)}:{main_file}"


def parsed_once(files: Mapping[str, str], main_file: str) -> ParsedDefinition:
    """parse_bundle's result, parsed only if this process has not parsed the same content."""
    key = content_key(files, main_file)
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = parse_bundle(files, main_file)
        _PARSED.put(key, parsed)
    return parsed


def passed_publishing(files: Mapping[str, str], main_file: str) -> ParsedDefinition | None:
    """The parse of this content if it already passed every check before publishing here."""
    return _PUBLISHABLE.get(content_key(files, main_file))


def remember_publishable(parsed: ParsedDefinition) -> None:
    """Record that this parse passed every check before publishing."""
    _PUBLISHABLE.put(content_key(parsed.files, parsed.main_file), parsed)


def forget_parses() -> None:
    """Drop every parse the process keeps (for a test that counts parses)."""
    _PARSED.clear()
    _PUBLISHABLE.clear()


class SpecCache:
    """A runtime's parsed definitions by the version's bundle hash. Thread-safe."""

    def __init__(self, capacity: int = 128) -> None:
        self.capacity = capacity
        self._items: Lru[ParsedDefinition] = Lru(capacity)

    def get(self, files: Mapping[str, str], main_file: str, expected_hash: str
            ) -> ParsedDefinition:
        parsed = self._items.get(expected_hash)
        if parsed is None:
            parsed = parsed_once(files, main_file)
            self._items.put(expected_hash, parsed)
        return parsed

    def peek(self, bundle_hash_: str) -> ParsedDefinition | None:
        return self._items.get(bundle_hash_)
