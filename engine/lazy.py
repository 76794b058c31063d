"""A module that loads when first used: what lets a command that only reads storage start
without SpiffWorkflow and every command handler of the engine.

    if TYPE_CHECKING:
        from engine.workflow import runner
    else:
        runner = LazyModule(lambda: importlib.import_module("engine.workflow.runner"))

The module is named literally at the import, so the architecture test sees the dependency
as it sees any other import, and the type checker sees the module itself."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module; the first attribute read loads it (thread-safe: the import
    system's lock), and every read after that goes to the loaded module."""

    def __init__(self, load: Callable[[], ModuleType]) -> None:
        self._load = load
        self._module: ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = self._load()
        return getattr(module, name)
