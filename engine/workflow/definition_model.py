"""What a parsed bundle is: the properties its BPMN carries, and ParsedDefinition, the specs
and facts every case of one version shares (forms, roles, sensitivity, referrals, flows).

Kept apart from the parsing (engine.workflow.definitions) so what reads a parsed definition, and
what derives facts for it (engine.workflow.sensitivity), needs no parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"
DUE_PROPERTY = "due"
FORM_PROPERTIES = (FORM_PROPERTY, UI_FORM_PROPERTY)
# spiffworkflow:properties the DSL compiler puts on its declarative steps
OUTCOME, OUTCOME_VALUE = "pathwaysOutcome", "pathwaysOutcomeValue"
OUTCOME_WHEN = "pathwaysOutcomeWhen"
NOTIFY_TO, NOTIFY_MESSAGE = "pathwaysNotifyTo", "pathwaysNotifyMessage"
# on a notify: the lane role it is about (whose team leads `to: team_lead` means); on a
# reminder or escalation: the step id of the task it is about (its due date and assignee)
NOTIFY_ROLE, NOTIFY_TASK = "pathwaysNotifyRole", "pathwaysNotifyTask"
NOTIFY_KIND = "pathwaysNotifyKind"  # on a reminder or escalation: "reminder" | "escalation"
REFER = "pathwaysRefer"
# on a user task: an expression giving the username the task is assigned to when it becomes
# ready, and one giving the only organisation whose staff may do it (DSL `assign`,
# `organisation`)
ASSIGN, TASK_ORGANISATION = "pathwaysAssign", "pathwaysOrganisation"
EXIT_REASON = "pathwaysExitReason"
SETS = "pathwaysSets"  # on a DSL `set` step's scriptTask: the case data it writes
DECLARATIVE = (OUTCOME, NOTIFY_TO, REFER)
# the first line of the pre/post scripts the DSL compiler writes to keep a repeat's rounds
# (numbering them, filing each task's answers under its round): derived from the pathway's
# forms and structure, so a migration judges those changes (engine.versions.form_compat,
# the steps' order), not the bookkeeping that follows from them
ROUNDS_SCRIPT = "# pathways: a repeat's rounds (generated)\n"
ROUND_ANSWERS_PREFIX = "pathways_round_"
# on a message boundary event (DSL block handler `when:`): the condition on the case's answers
# that sends the event its own message (CONDITION_MESSAGE_PREFIX + its id) once it holds
CONDITION = "pathwaysWhen"
CONDITION_MESSAGE_PREFIX = "pathways_when_"  # + repeat id: the answers of the round under way
# NAME.roles.json beside NAME.bpmn (the DSL compiler writes it): the pathway's owner, and the
# organisations each lane role is open to
ROLES_SUFFIX = ".roles.json"
# on a form field: "health" or "offence", special category data only some people may see
SENSITIVE = "x-pathways-sensitive"
SENSITIVE_CATEGORIES: tuple[str, ...] = ("health", "offence")
# spiffworkflow:property on an element (step, gateway, sequence flow) or on a process: its existence
# reveals health or offence data (see engine.workflow.sensitivity for what follows from it)
SENSITIVE_PROPERTY = "sensitive"
# spiffworkflow:property on a signal throw (intermediate throw or end event): who hears it.
# "client" (the default): the thrower's client's cases; "programme": every client's cases.
SIGNAL_SCOPE_PROPERTY = "signal_scope"
CLIENT_SCOPE, PROGRAMME_SCOPE = "client", "programme"
SIGNAL_SCOPES: tuple[str, ...] = (CLIENT_SCOPE, PROGRAMME_SCOPE)


@dataclass(frozen=True)
class UserTaskInfo:
    """What the inbox needs to know about a user task spec."""

    step: str
    title: str
    role: str | None
    form: str | None
    due: str | None
    instructions: str | None = None  # what the person doing it should know (documentation)
    assign: str | None = None  # expression: the username to assign it to when ready
    organisation: str | None = None  # expression: the one organisation that may do it


@dataclass
class ParsedDefinition:
    """A bundle parsed once: the spec objects every case of this version shares."""

    pathway: str
    hash: str
    main_file: str
    files: dict[str, str]
    spec: Any
    subprocess_specs: dict[str, Any]
    processes: tuple[str, ...]
    start_messages: tuple[str, ...]
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    # from the roles file (none: no owner, every role open to every organisation)
    owner: str | None = None
    role_titles: dict[str, str] = field(default_factory=dict)
    # role -> the organisations whose staff may take it; a role not listed, or listed with
    # no organisations, is open to every organisation
    role_organisations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sensitive_client_fields: dict[str, str] = field(default_factory=dict)
    # what reveals health or offence data by existing (engine.access.privacy hides it): the whole
    # pathway; element id (step, gateway, flow) -> category; case data fields only a
    # sensitive step sets -> category
    sensitive_pathway: str | None = None
    sensitive_steps: dict[str, str] = field(default_factory=dict)
    step_fields: dict[str, str] = field(default_factory=dict)
    # element id -> the pathway it refers to (a refer step, or the catch of its completion);
    # the variable a completion is caught into -> that pathway
    referrals: dict[str, str] = field(default_factory=dict)
    referral_results: dict[str, str] = field(default_factory=dict)
    exit_reasons: dict[str, str] = field(default_factory=dict)  # end element id -> reason
    # (source id, target id) -> (sequence flow id, its name or None): which flow a decision
    # took, for its `decision` event (the spec keeps only the target)
    flows: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    client_field_types: dict[str, str] = field(default_factory=dict)  # field -> DSL type
    # signal name -> "client" or "programme": who hears it when this pathway throws it
    signal_scopes: dict[str, str] = field(default_factory=dict)
    # signals whose start event starts a case of this pathway (as start messages do)
    start_signals: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The pathway's name in words: its main process's name (Gate reception
        (Peterborough One Service)), else its id with spaces (gate reception)."""
        name = getattr(self.spec, "description", None)
        if isinstance(name, str) and name.strip() and name != self.pathway:
            return name.strip()
        return self.pathway.replace("_", " ")

    def signal_scope(self, name: str) -> str:
        """Who hears signal `name` thrown by this pathway (the client's cases by default)."""
        return self.signal_scopes.get(name, CLIENT_SCOPE)

    def form_schema(self, form_file: str | None) -> dict[str, Any] | None:
        return self.forms.get(form_file) if form_file else None

    def role_open_to(self, role: str | None, organisation: str) -> bool:
        """Whether staff of organisation may take the lane role (None: a task in no lane)."""
        allowed = self.role_organisations.get(role) if role is not None else None
        return not allowed or organisation in allowed

    def involves(self, organisation: str) -> bool:
        """Whether organisation owns the pathway or is named for one of its roles."""
        return organisation == self.owner or any(
            organisation in orgs for orgs in self.role_organisations.values())

    def sensitive_form_fields(self, form_file: str | None) -> dict[str, str]:
        """Field -> category for the fields of one form marked x-pathways-sensitive."""
        schema = self.form_schema(form_file) or {}
        found: dict[str, str] = {}
        for name, prop in (schema.get("properties") or {}).items():
            category = prop.get(SENSITIVE) if isinstance(prop, dict) else None
            if category in SENSITIVE_CATEGORIES:
                found[name] = category
        return found

    def sensitive_fields(self) -> dict[str, str]:
        """Case data field -> category: every sensitive field of every task form."""
        found: dict[str, str] = {}
        for info in self.user_tasks.values():
            found.update(self.sensitive_form_fields(info.form))
        return found

    def sensitive_client(self, *, steps: bool = True) -> dict[str, str]:
        """Client field -> category: declared sensitive, or filled from or saved to by a
        sensitive form field, or (steps) by any field of a sensitive step, which every step
        of a pathway sensitive as a whole is (its fields' presence on the record would tell)."""
        found = dict(self.sensitive_client_fields)
        for info in self.user_tasks.values():
            schema = self.form_schema(info.form) or {}
            fields = self.sensitive_form_fields(info.form)
            step = (self.sensitive_steps.get(info.step) or self.sensitive_pathway) \
                if steps else None
            if step is not None:  # everything a sensitive step saves reveals it
                fields = {name: fields.get(name, step)
                          for name in (schema.get("properties") or {})}
            for name, category in fields.items():
                prop = schema["properties"][name]
                if not isinstance(prop, dict):
                    continue
                for key in ("x-pathways-save-to", "x-pathways-prefill"):
                    target = prop.get(key)
                    if isinstance(target, str) and target.startswith("client."):
                        found.setdefault(target.removeprefix("client."), category)
        return found


def all_task_specs(parsed: ParsedDefinition) -> Iterator[Any]:
    """Every task spec of the pathway's process and of the processes it calls."""
    yield from parsed.spec.task_specs.values()
    for sub in parsed.subprocess_specs.values():
        if sub is not None:
            yield from sub.task_specs.values()
