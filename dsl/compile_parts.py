"""The pieces the compiler passes between steps (dsl.compile and the step kinds in dsl.kinds)."""

from __future__ import annotations

from dataclasses import dataclass

from dsl import layout as lay


@dataclass(frozen=True)
class Pending:
    """An outgoing flow waiting for its target."""

    source: str
    name: str | None = None
    condition: str | None = None
    default: bool = False
    branch: int | None = None
    when: str | None = None


@dataclass(frozen=True)
class Ctx:
    container: str | None  # subProcess the nodes go in
    scope: str | None  # nearest enclosing repeat
    in_parallel: bool  # inside a parallel branch, within the scope
    fixed_lane: str | None  # an enclosing one-lane subProcess: SpiffWorkflow gives its lane
    listed: bool  # nodes here are named in the laneSet


@dataclass
class Part:
    block: lay.Block
    pending: list[Pending]
    lane: str  # the lane of the nearest preceding task, for automatic nodes after this
