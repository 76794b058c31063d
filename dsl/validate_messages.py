"""The validator's checks of notifications: who they are for, their message templates, and
a task's reminder and escalation (a mixin of dsl.validate's checker)."""

from __future__ import annotations

import re
from typing import Any

from dsl.loader import LoadedDocument, Path, Position, value_at
from dsl.wording import did_you_mean
from engine.workflow.message_templates import (
    CASE_NAMES,
    TASK_NAMES,
    TemplateError,
    placeholders,
)

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_UNIT_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def _seconds(text: str) -> int | None:
    """Roughly how long an ISO-8601 duration is (months as 30 days), found in text such as
    `P2D before due`; None when text holds no duration (a due that is a date field)."""
    found = _DURATION.search(text)
    if found is None or found.group(0) == "P" or not text.strip().startswith(
            ("P", found.group(0))):
        return None
    return sum(int(n or 0) * unit for n, unit in zip(found.groups(), _UNIT_SECONDS,
                                                      strict=True))


def _leaves_pathways(category: str, owner: str) -> str:
    """Why a sensitive field may not be a placeholder of a notification."""
    return (f"is a sensitive ({category}) {owner} field: a notification leaves Pathways "
            "(e-mail), where its access rules cannot follow, so it may not carry it; leave it "
            "out")


# who a notification may be for besides a declared role (a declared role of that name wins)
RECIPIENT_WORDS = ("assignee", "team_lead")


class NotificationChecks:
    document: LoadedDocument
    data: dict[str, Any]
    roles: dict[str, Any] | None
    client_fields: dict[str, Any]
    form_fields: set[str]
    sensitive_fields: dict[str, str]
    sensitive_client_fields: dict[str, str]

    def report(self, path: Path, message: str, *, at: Position | None = None) -> None:
        raise NotImplementedError

    def report_key(self, path: Path, message: str) -> None:
        raise NotImplementedError

    def role(self, role: Any, path: Path, what: str) -> None:
        raise NotImplementedError

    def note_sensitive(self, step: dict[str, Any]) -> None:
        """Form fields a notification may not carry: marked sensitive, or on a sensitive
        task."""
        for name, spec in step["form"].items():
            category = (spec.get("sensitive") if isinstance(spec, dict) else None) \
                or step.get("sensitive")
            if isinstance(name, str) and isinstance(category, str):
                self.sensitive_fields.setdefault(name, category)

    def task_timers(self, step: dict[str, Any], path: Path) -> None:
        """remind / escalate: both count from the task's due date, so they need one."""
        for key in ("remind", "escalate"):
            spec = step.get(key)
            if spec is None:
                continue
            if step.get("due") is None:
                self.report_key((*path, key),
                                f"{key} counts from the task's due date, but this task has no "
                                "`due`: add one, e.g. `due: P7D`, or remove "
                                f"`{key}`")
            if key == "remind":
                self.remind_in_time(spec, step.get("due"), (*path, key))
            if not isinstance(spec, dict):
                continue
            if key == "remind":
                self.recipient(spec.get("to"), (*path, key, "to"))
            else:
                self.role(spec.get("to"), (*path, key, "to"), "who the task is escalated to")
            self.template((*path, key, "message"), task_names=True,
                          sensitive=step.get("sensitive"))

    def remind_in_time(self, spec: Any, due: Any, path: Path) -> None:
        """A reminder `before` at least as long as a `due` counted from when the task opens
        would fall before the task exists: it would go the moment the task opens."""
        before = spec.get("before") if isinstance(spec, dict) else spec
        if not isinstance(before, str) or not isinstance(due, str):
            return
        remind, due_after = _seconds(before), _seconds(due)
        if remind is not None and due_after is not None and remind >= due_after:
            self.report(path, f"the reminder comes {before.split()[0]} "
                              f"before due, but the task is due {due.strip()} after it "
                              "opens: it would go as the task opens; remind less long "
                              "before, or remove it")

    def recipient(self, to: Any, path: Path) -> None:
        """A notification's `to`: a declared role, `assignee` or `team_lead`."""
        if self.roles is None or not isinstance(to, str) or to in self.roles \
                or to in RECIPIENT_WORDS:
            return
        declared = ", ".join(sorted(self.roles)) or "none yet"
        self.report(path, f"role {to!r} (who is notified) is not declared under roles"
                          f"{did_you_mean(to, [*self.roles, *RECIPIENT_WORDS])}: declare it "
                          f"there, e.g. `{to}: {{title: ...}}`, or use a declared role "
                          f"({declared}), or {' or '.join(RECIPIENT_WORDS)}")

    def template(self, path: Path, *, task_names: bool, sensitive: Any = None) -> None:
        """Each placeholder of a message names a value a notification may carry."""
        text = value_at(self.data, path)
        if not isinstance(text, str):
            return
        try:
            found = list(placeholders(text))
        except TemplateError as err:
            self.report(path, f"{err}", at=self.document.inside(path, err.offset))
            return
        for placeholder in found:
            problem = self.placeholder_problem(placeholder.name, task_names, sensitive)
            if problem:
                self.report(path, f"{{{placeholder.name}}} {problem}",
                            at=self.document.inside(path, placeholder.offset))

    def placeholder_problem(self, name: str, task_names: bool, sensitive: Any = None
                            ) -> str | None:
        root, _, field = name.partition(".")
        if root == "client" and field and isinstance(sensitive, str):
            return (f"names the client, but this step is sensitive ({sensitive}): an "
                    "e-mail naming its client reveals that; leave the client out")
        if name in CASE_NAMES or (task_names and name in TASK_NAMES):
            return None
        if name in TASK_NAMES:
            return ("is only known in a task's reminder or escalation (it is that task's "
                    "due date or title); here, name a form field such as {review_date}")
        if root == "client" and field:
            return self.client_placeholder(field)
        if field:
            return ("is not a placeholder: write {client.<field>} for a client field, or "
                    "{<field>} for a form field")
        category = self.sensitive_fields.get(name)
        if category is not None:
            return _leaves_pathways(category, "form")
        if name in self.form_fields:
            return None
        known = [*CASE_NAMES, *TASK_NAMES, *sorted(self.form_fields)]
        return (f"is not a form field, nor one of {', '.join(CASE_NAMES + TASK_NAMES)}"
                f"{did_you_mean(name, known)}: name a form field, or a client field as "
                "{client.<field>}")

    def client_placeholder(self, field: str) -> str | None:
        sensitive = self.data.get("sensitive")
        if sensitive:
            return (f"names the client, but this pathway is sensitive ({sensitive}): an "
                    "e-mail naming its client reveals that; leave the client out")
        if field == "name":
            return None
        if field not in self.client_fields:
            return (f"reads the client field {field!r}, which is not declared under "
                    f"client_fields{did_you_mean(field, self.client_fields)}: declare it, or "
                    "correct the name")
        category = self.sensitive_client_fields.get(field)
        if category is not None:
            return _leaves_pathways(category, "client")
        return None

