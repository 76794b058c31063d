"""A pathway's roles file (<pathway>.roles.json): who owns it, who may take each role, and
its client fields' types and sensitivity, for the engine's access rules and client records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.expression_text import humanise


def roles_bundle(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The roles file of a pathway: {"organisation": owner or null, "roles": {id: {"title",
    "organisations"}}, "sensitive_client_fields": {field: "health" | "offence"},
    "client_fields": {field: its declared type} (the engine checks client records with it)}.

    A role with no organisations listed is open to every organisation.
    """
    roles = {
        role: {"title": (spec or {}).get("title") or humanise(role),
               "organisations": list((spec or {}).get("organisations") or [])}
        for role, spec in (doc.get("roles") or {}).items()}
    sensitive = {name: spec["sensitive"]
                 for name, spec in (doc.get("client_fields") or {}).items()
                 if isinstance(spec, Mapping) and spec.get("sensitive")}
    types = {name: spec.get("type") if isinstance(spec, Mapping) else spec
             for name, spec in (doc.get("client_fields") or {}).items()}
    return {"organisation": doc.get("organisation"), "roles": roles,
            "sensitive_client_fields": sensitive, "client_fields": types}
