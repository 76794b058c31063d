"""Who does a user task, worked out from the case's answers when it becomes ready: the
username it is assigned to (`assign`) and the one organisation whose staff may do it
(`organisation`), kept on the task so every route reads the same answer."""

from __future__ import annotations

from typing import Any

from engine.workflow import expressions
from engine.workflow.definition_model import UserTaskInfo
from engine.workflow.expressions import ExpressionError

_MAX_NAME = 200
_KINDS = {bool: "yes/no", int: "number", float: "number", str: "text", list: "list",
          dict: "record"}


def settle_people(task: Any, info: UserTaskInfo | None) -> dict[str, Any]:
    """Work out the task's assignee and organisation, keep them on the task, and return
    them (with any problem, in words) for its task_ready event."""
    found: dict[str, Any] = {}
    for key, source in (("assignee", info.assign if info else None),
                        ("organisation", info.organisation if info else None)):
        if source is None:
            continue
        value, problem = name_from_data(source, task.data)
        task._set_internal_data(**{f"pathways_{key}": value})
        found[key] = value
        if problem is not None:
            found[f"{key}_problem"] = problem
    return found


def people_of(task: Any) -> tuple[str | None, str | None]:
    """(assignee, organisation) settled when the task became ready."""
    return (_text_or_none(task._get_internal_data("pathways_assignee")),
            _text_or_none(task._get_internal_data("pathways_organisation")))


def name_from_data(source: str, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(a username or organisation id worked out from the case data, or None with the problem
    in words). A task whose `assign` or `organisation` cannot be worked out is left
    unassigned, or open to its role's organisations as declared: never to anyone more, and
    the problem is kept on its task_ready event for the team lead to see."""
    try:
        value = expressions.evaluate(source, data)
    except ExpressionError as err:
        return None, err.message
    if value is None or value == "":
        return None, None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_NAME:
        # the kind of value, never the value: the event is seen by more people than the
        # answer it read
        return None, f"{source!r} gave a {_KINDS.get(type(value), 'value')}, not a name"
    return value.strip(), None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
