"""Live workflows kept in memory between commands, so a busy case is not rebuilt each time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class _Live:
    revision: int
    bundle_hash: str
    workflow: Any
    open_tasks: tuple[str, ...] = ()


class LiveWorkflowCache:
    """Live workflows by case, each valid only for the case revision it was saved as.

    A command takes the workflow out (so no two commands share one object) and puts it back
    only after its transaction committed; anything that fails simply leaves it out, and the
    next command loads the stored state instead.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, _Live] = OrderedDict()
        self._task_cases: dict[str, int] = {}
        self._lock = threading.Lock()
        # How often a command found its case here (the benchmarks report the hit rate)
        self.hits = 0
        self.misses = 0

    def take(self, case_id: int, revision: int, bundle_hash: str) -> Any | None:
        with self._lock:
            live = self._items.pop(case_id, None)
            if live is not None:
                self._forget_tasks(live)
        if live is None or live.revision != revision or live.bundle_hash != bundle_hash:
            self.misses += 1
            return None
        self.hits += 1
        return live.workflow

    def put(self, case_id: int, revision: int, bundle_hash: str, workflow: Any,
            open_tasks: Sequence[str] = ()) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            old = self._items.pop(case_id, None)
            if old is not None:
                self._forget_tasks(old)
            self._items[case_id] = _Live(revision, bundle_hash, workflow, tuple(open_tasks))
            self._task_cases.update(dict.fromkeys(open_tasks, case_id))
            while len(self._items) > self.capacity:
                _, evicted = self._items.popitem(last=False)
                self._forget_tasks(evicted)

    def holds(self, case_id: int) -> bool:
        """Whether a workflow of the case is kept (maybe of an older revision): a command on
        a case not kept reads its stored workflow with the case, in one statement."""
        with self._lock:
            return case_id in self._items

    def case_of(self, task_id: str) -> int | None:
        """The case of an open task of a cached workflow (saves a lookup per completion)."""
        with self._lock:
            return self._task_cases.get(task_id)

    def _forget_tasks(self, live: _Live) -> None:
        for task_id in live.open_tasks:
            self._task_cases.pop(task_id, None)
