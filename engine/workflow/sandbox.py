"""Run a definition's scripts and expressions without letting them reach the operating system.

SpiffWorkflow evaluates every gateway condition, timer expression, message payload and script
task as Python. Its default engine runs them with full builtins, so a definition could call
`__import__('os')`; emptying `__builtins__` alone is escapable through
`().__class__.__base__.__subclasses__()` (see shared/notes/spiffworkflow.md, trap 3).

Here code is compiled with RestrictedPython (which refuses dunder attribute access and
imports at compile time), compiled code is cached by source, and a trace-based deadline
stops runaway loops. A single long-running C-level operation (an enormous integer power)
cannot be interrupted between bytecode lines, so the operators and builtins that can build a
huge value from small operands (`**`, `<<`, `*`, `+`, `%`, f-string formats, pow, round,
range, sum, str, repr, str.join/ljust/replace...) are rewritten to go through the guards of
engine.limits, which refuse an oversized result before computing it.
"""

from __future__ import annotations

import ast
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import CodeType, FrameType, ModuleType
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine import limits
from engine.errors import ScriptError
from engine.limits import DEFAULT_TIME_LIMIT_SECONDS as DEFAULT_TIME_LIMIT_SECONDS
from engine.numbers import number_problem
from engine.workflow import expressions
from engine.workflow.due import DUE_FUNCTION, due_moved

DSL_FUNCTION = "expr"  # compiled DSL conditions call it: expr("risk in ['high']")
_SCRIPT_FILENAME = "<string>"  # the name SpiffWorkflow looks for to report line numbers

_BINOPS: dict[type[ast.operator], str] = {
    ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*", ast.Add: "+", ast.Mod: "%",
}


class _BoundedTransformer(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus: the operators that can build a huge value, and every
    f-string field, call the size guards of engine.limits (`a ** b` -> `_binop_('**', a, b)`)."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()),
                        args=[ast.Constant(op), node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(func=ast.Name("_fvalue_", ast.Load()),
                        args=[ast.Constant(node.conversion), node.value, spec], keywords=[])
        replaced = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        return ast.fix_missing_locations(ast.copy_location(replaced, node))


class ScriptTimeout(ScriptError):
    code = "script_timeout"


def _inplace(op: str, target: Any, value: Any) -> Any:
    return limits.binary(op.removesuffix("="), target, value)


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    return limits.guarded_attribute(obj, name, safer_getattr(obj, name, *default))  # type: ignore[no-untyped-call]


def _guarded_iter(obj: Iterable[Any]) -> Any:
    return iter(obj)


def _build_builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.pop("__build_class__", None)  # no class statements in definitions
    for name, value in {
        "min": min, "max": max, "sorted": sorted, "any": any, "all": all,
        "list": list, "dict": dict, "set": set, "tuple": tuple, "enumerate": enumerate,
        "zip": zip, "reversed": reversed, "map": map, "filter": filter,
        # bounded stand-ins for what could build a huge value in one C-level call
        "pow": limits.bounded_pow, "round": limits.bounded_round,
        "range": limits.bounded_range, "sum": limits.bounded_sum, "str": limits.BoundedStr,
        "repr": limits.bounded_repr,
    }.items():
        allowed[name] = value
    return allowed


_GUARD_GLOBALS: dict[str, Any] = {
    "__builtins__": _build_builtins(),
    "_getattr_": _guarded_getattr,
    "_binop_": limits.binary,
    "_fvalue_": limits.formatted_value,
    "_getitem_": default_guarded_getitem,
    "_getiter_": _guarded_iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
}


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    """Compile a condition or expression once per distinct source text."""
    result = compile_restricted_eval(source.strip(), filename=_SCRIPT_FILENAME,
                                     policy=_BoundedTransformer)
    if result.errors or result.code is None:
        raise ScriptError(
            f"expression {source.strip()!r} is not allowed: " + "; ".join(result.errors),
            details={"source": source, "errors": list(result.errors)},
        )
    return result.code


def _has_import(source: str) -> bool:
    imports = (ast.Import, ast.ImportFrom)
    return any(isinstance(node, imports) for node in ast.walk(ast.parse(source)))


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    """Compile a script task's body once per distinct source text."""
    result = compile_restricted_exec(source, filename=_SCRIPT_FILENAME,
                                     policy=_BoundedTransformer)
    if result.code is not None and _has_import(source):
        raise ScriptError("script is not allowed: imports are not available in definitions",
                          details={"source": source, "errors": ["import statement"]})
    if result.errors or result.code is None:
        raise ScriptError(
            "script is not allowed: " + "; ".join(result.errors),
            details={"source": source, "errors": list(result.errors)},
        )
    return result.code


# where the deadline may stop code: the definition's own (compiled here) and the engine's
# functions it calls (the expression language); never inside a library's code, such as a
# garbage collector callback that runs while a script allocates: Python ignores an exception
# raised there and, as it came from the trace function, turns tracing off, so the script
# would run on with no limit
_ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _stoppable(code: CodeType) -> bool:
    return code.co_filename == _SCRIPT_FILENAME or code.co_filename.startswith(_ENGINE_DIR)


class _Deadline:
    """A trace function that raises once the script has had its budget of CPU time, in the
    script or the engine's code it calls (a library's frames are not traced: see _stoppable).

    The budget is the thread's own CPU time less the collector's: waiting for a loaded
    machine, or a full collection of a big heap, is not the script's doing and once stopped
    a `set` step on CI. The clock is read cheaply on every line; the thread's CPU time (a
    system call) only once the clock says the budget could be spent, then not again until
    it could be spent once more."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.thread = threading.get_ident()
        self.started = time.thread_time()
        self.collecting = 0.0
        self.collection_started: float | None = None
        self.check_at = time.monotonic() + seconds

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and (frame.f_code is _COLLECTOR_CODE
                                or not _stoppable(frame.f_code)):
            return None
        if time.monotonic() > self.check_at:
            left = self.seconds - self.spent()
            if left <= 0:
                raise ScriptTimeout(
                    f"script or expression used more than {self.seconds:g}s of CPU time and "
                    "was stopped",
                    details={"time_limit_seconds": self.seconds},
                )
            self.check_at = time.monotonic() + left
        return self

    def spent(self) -> float:
        return time.thread_time() - self.started - self.collecting

    def collector(self, phase: str, _info: dict[str, int]) -> None:
        """gc.callbacks: times this thread's collections, to leave them out of the budget."""
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self.collection_started = time.thread_time()
        elif self.collection_started is not None:
            self.collecting += time.thread_time() - self.collection_started
            self.collection_started = None


_COLLECTOR_CODE = _Deadline.collector.__code__


def _run_with_deadline(code: CodeType, namespace: dict[str, Any], seconds: float) -> Any:
    previous = sys.gettrace()
    deadline = _Deadline(seconds)
    gc.callbacks.append(deadline.collector)
    sys.settrace(deadline)
    try:
        return eval(code, namespace)  # noqa: S307 - code was compiled by RestrictedPython
    finally:
        sys.settrace(previous)
        gc.callbacks.remove(deadline.collector)


def _is_data(key: str, value: Any) -> bool:
    return (key not in _GUARD_GLOBALS and key not in (DSL_FUNCTION, DUE_FUNCTION)
            and not callable(value)
            and not isinstance(value, ModuleType))


def _bounded(value: Any, source: str, depth: int = 0) -> Any:
    """The value of a DSL expression, refused when it holds a number no JSON store keeps
    (`1e308 * 10` is inf): a `set` step would otherwise write it into the case data."""
    problem = number_problem(value)
    if problem is not None:
        raise ScriptError(f"{source!r} gave {value!r}, out of bounds: a number {problem}",
                          details={"expression": source})
    if depth < 20 and isinstance(value, list | tuple):
        for item in value:
            _bounded(item, source, depth + 1)
    return value


class SandboxEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Evaluates with RestrictedPython-compiled code, guard functions and a time limit."""

    def __init__(self, *, time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
                 functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(dict(functions or {}))
        self.time_limit = time_limit

    def _namespace(self, context: Mapping[str, Any],
                   external_context: Mapping[str, Any] | None) -> dict[str, Any]:
        namespace = dict(_GUARD_GLOBALS)
        namespace.update(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        # DSL conditions arrive as expr("..."): evaluated by the expression language, on a
        # snapshot of the data, never as Python.
        data = {k: v for k, v in context.items() if _is_data(k, v)}
        before = set(namespace)

        def dsl_expression(source: str) -> Any:
            # a script's own assignments count too (a DSL `set` step's later values read
            # its earlier ones); nothing else it could bind is data
            assigned = {k: v for k, v in namespace.items()
                        if (k in data or k not in before) and _is_data(k, v)}
            return _bounded(expressions.evaluate(source, {**data, **assigned}), source)

        namespace[DSL_FUNCTION] = dsl_expression
        # a reminder's or escalation's timer: its task's due time, moved (engine.workflow.due)
        namespace[DUE_FUNCTION] = lambda rule, offset: due_moved(data, rule, offset)
        return namespace

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        code = compile_expression(expression)
        return _run_with_deadline(code, self._namespace(context, external_context),
                                  self.time_limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, dict(external_context or {}))
        code = compile_script(script)
        namespace = self._namespace(context, external_context)
        _run_with_deadline(code, namespace, self.time_limit)
        excluded = set(self.globals) | set(external_context or {})
        for key in [k for k in context if k not in namespace]:
            del context[key]  # the script deleted it
        for key, value in namespace.items():
            if key not in excluded and _is_data(key, value):
                context[key] = value
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ScriptError("this installation has no service connectors configured",
                          details={"operation": kwargs.get("operation_name")})


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's script engine on the sandbox, with its call_service bug mended.

    SpiffWorkflow 3.2's `call_service` error branch names an undefined variable `script`, so a
    failing service call raises NameError instead of a task error; ours reports it properly.
    """

    def __init__(self, *, time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
                 connectors: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(time_limit=time_limit))
        self.connectors = dict(connectors or {})

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        operation = kwargs.get("operation_name", "")
        try:
            connector = self.connectors.get(operation)
            if connector is None:
                raise ScriptError(f"no service connector is configured for {operation!r}",
                                  details={"operation": operation})
            return connector(**kwargs.get("operation_params", {}))
        except Exception as err:
            raise WorkflowTaskException(
                f"service call {operation!r} failed: {err}", task=task, exception=err
            ) from err
