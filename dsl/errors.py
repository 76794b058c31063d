"""The DSL's problems and its one exception root.

A problem is located (file, 1-based line and column, path inside the document) and says what
is wrong and how to fix it; `DslError` carries every problem found, not just the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DslProblem:
    """One thing wrong with a pathway file: `FILE:LINE:COLUMN: message [path]`."""

    file: str
    line: int
    column: int
    path: str  # e.g. "steps[3].form.risk"; "" for the document itself
    message: str

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {self.message}{where}"


class DslError(Exception):
    """Root of every error the DSL raises on purpose: a file with problems."""

    code = "invalid_definition"

    def __init__(self, problems: Iterable[DslProblem]) -> None:
        self.problems: list[DslProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)
