"""The validator's checks of the step kinds added with issue 15 (set, go_to, block,
for_each, include): a mixin of dsl.validate's checker."""

from __future__ import annotations

from typing import Any

from dsl.kinds import block as block_kind
from dsl.kinds import for_each as for_each_kind
from dsl.kinds.set_step import set_name_problem
from dsl.loader import Path, Position
from dsl.validate_go_to import GoTos


class StepKindChecks:
    data: dict[str, Any]
    client_fields: dict[str, Any]
    referral_results: set[str]
    generated_ids: set[str]
    go_tos: GoTos

    def report(self, path: Path, message: str, *, at: Position | None = None) -> None:
        raise NotImplementedError

    def report_key(self, path: Path, message: str) -> None:
        raise NotImplementedError

    def expression(self, path: Path) -> None:
        raise NotImplementedError

    def constant_date(self, path: Path) -> None:
        raise NotImplementedError

    def check_refer(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        raise NotImplementedError

    def check_block(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.generated_ids |= block_kind.generated_ids(step)
        for problem_path, message in block_kind.problems(step, path):
            self.report(problem_path, message)
        for index, handler in enumerate(step.get("handlers") or []):
            if isinstance(handler, dict) and "when" in handler:
                self.expression((*path, "handlers", index, "when"))
            if isinstance(handler, dict) and "at" in handler:
                self.expression((*path, "handlers", index, "at"))
                self.constant_date((*path, "handlers", index, "at"))

    def check_for_each(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.generated_ids |= for_each_kind.generated_ids(step)
        for problem_path, message in for_each_kind.problems(step, path):
            self.report(problem_path, message)
        if "in" in step:
            self.expression((*path, "in"))

    def check_include(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if step.get("pathway") == self.data.get("pathway"):
            self.report((*path, "pathway"), "a pathway cannot include itself: include another "
                                            "pathway, or use a repeat")
        else:
            self.check_refer(step, path, parallel)

    def check_set(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        values = step.get("values")
        for name in values if isinstance(values, dict) else ():
            self.expression((*path, "values", name))
            problem = set_name_problem(str(name), self.client_fields, self.referral_results)
            if problem is not None:
                self.report_key((*path, "values", name),
                                f"set value {problem}; choose another name")

    def check_go_to(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        message = self.go_tos.problem(step, path)
        if message:
            self.report((*path, "target"), message)
