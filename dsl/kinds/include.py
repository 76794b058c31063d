"""`include`: the steps of another published pathway run here, in the same case, for the same
client (issue 15, item 10), where `refer` starts a case of its own.

Compiles to a callActivity whose calledElement is the included pathway's process id. Publish
bundles the latest published version of that pathway into the including one's version
(engine/versions/version_commands.py), so a later edit of the fragment reaches cases only
through a new version of the pathways that include it. SpiffWorkflow runs the called process
on a copy of the case data and copies its data back when it finishes: the fragment's answers
are case data after it. An `end` in the fragment ends the fragment, not the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise

if TYPE_CHECKING:
    from dsl.compile import Compiler

__all__ = ["compile_include"]


def compile_include(c: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx,
                    pending: list[Pending], lane: str) -> Part:
    target = str(step["pathway"])
    c.attach(c.auto(ctx, lane, sid, "callActivity", "task",
                    str(step.get("title") or humanise(target)), called=target), pending)
    return Part(lay.Leaf(sid), [Pending(sid)], lane)
