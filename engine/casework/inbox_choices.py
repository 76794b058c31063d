"""The inbox's filter choices in the words people see, and the filters people type read back
to the ids storage knows (issue 18, item 4): a pathway by its id, its id in words ("gate
reception") or its title, a step by its id or its title ("Needs assessment"), case and spaces
aside. A filter that names nothing is refused with the field it came from, instead of an
empty inbox that looks like "no work".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.casework.casework_views import InboxChoices
from engine.errors import DefinitionError, InvalidArgumentError
from engine.model import PathwayVersion, User
from engine.workflow.definition_model import ParsedDefinition

_Loaded = ParsedDefinition | DefinitionError | None


def shown_pathway(pathway: str) -> str:
    """A pathway's name as the inbox shows it."""
    return pathway.replace("_", " ")


def _may_take(user: User, definition: ParsedDefinition, role: str | None) -> bool:
    """Whether the user may do tasks of the lane role (as casework_inbox.grant says)."""
    if user.role == "admin":
        return True
    if user.pathway_roles and role not in user.pathway_roles:
        return False
    return definition.role_open_to(role, user.organisation)


def choices(user: User, versions: Iterable[PathwayVersion],
            loaded: Mapping[tuple[str, int], _Loaded], *, takeable: bool = True
            ) -> InboxChoices:
    """The pathways, versions and steps (user tasks) of the published versions (oldest
    first, so the newest title of a step wins). takeable: only those whose tasks the user
    may do (what the filters offer); else every loadable one (what typed filters may name:
    another organisation's pathway is known, its inbox is empty). An admin has every
    version, those whose definition cannot be loaded too (by id); for anyone else such a
    version is not there, so neither the choices nor a refusal tells of it."""
    steps: dict[str, dict[str, str]] = {}
    numbers: dict[str, list[int]] = {}
    titles: dict[str, str] = {}  # the newest loadable version's title
    for version in sorted(versions, key=lambda v: (v.pathway, v.number)):
        found = loaded.get((version.pathway, version.number))
        if not isinstance(found, ParsedDefinition):
            if user.role == "admin":
                numbers.setdefault(version.pathway, []).append(version.number)
                steps.setdefault(version.pathway, {})
            continue
        mine = {step: info.title or step for step, info in found.user_tasks.items()
                if not takeable or _may_take(user, found, info.role)}
        if takeable and not mine and user.role != "admin":
            continue
        numbers.setdefault(version.pathway, []).append(version.number)
        steps.setdefault(version.pathway, {}).update(mine)
        titles[version.pathway] = found.title
    return InboxChoices(
        pathways=tuple((p, titles.get(p, shown_pathway(p))) for p in sorted(numbers)),
        steps={p: tuple(sorted(t.items(), key=lambda item: (item[1].casefold(), item[0])))
               for p, t in steps.items()},
        versions={p: tuple(n) for p, n in numbers.items()})


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def _match(text: str, offered: Iterable[tuple[str, str]]) -> set[str]:
    """The ids text names: an id exactly, else ids or titles alike but for case, spaces
    and underscores."""
    offered = list(offered)
    if any(value == text for value, _label in offered):
        return {text}
    wanted = _key(text)
    return {value for value, label in offered if wanted in (_key(value), _key(label))}


def resolve(found: InboxChoices, pathway: str | None, version: int | None,
            step: str | None) -> tuple[str | None, str | None]:
    """The pathway and step ids the filters name; InvalidArgumentError with details.fields
    (field -> messages) when one names nothing, or a step title names steps of several
    pathways."""
    problems: dict[str, list[str]] = {}
    if pathway is not None:
        named = _match(pathway, found.pathways)
        if not named:
            problems["pathway"] = [f"there is no pathway {pathway!r}: choose one from the list"]
            pathway = None
        else:
            pathway = named.pop()
    if version is not None and "pathway" not in problems:
        known = found.versions.get(pathway, ()) if pathway else {
            n for numbers in found.versions.values() for n in numbers}
        if version not in known:
            problems["version"] = [f"{shown_pathway(pathway)} has no version {version}"
                                   if pathway else f"no pathway has a version {version}"]
    if step is not None and "pathway" not in problems:
        step = _step(found, pathway, step, problems)
    if problems:
        raise InvalidArgumentError(
            "; ".join(f"{name}: {', '.join(said)}" for name, said in problems.items()),
            details={"fields": problems})
    return pathway, step


def _step(found: InboxChoices, pathway: str | None, step: str,
          problems: dict[str, list[str]]) -> str | None:
    pools = [pathway] if pathway else sorted(found.steps)
    named = _match(step, (pair for p in pools for pair in found.steps.get(p, ())))
    if len(named) == 1:
        return named.pop()
    if not named:
        where = f" in {shown_pathway(pathway)}" if pathway else ""
        problems["step"] = [f"there is no step {step!r}{where}: choose one from the list"]
    else:
        problems["step"] = [f"{step!r} names several steps ({', '.join(sorted(named))}): "
                            "choose the pathway first"]
    return None
