"""Clients: register one (its fields checked against what the pathways declare) and read them.

Handlers of the Engine facade, each one unit of work on a CaseRuntime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.client_fields import client_field_problems
from engine.errors import FormValidationError
from engine.model import Client
from engine.ports import UnitOfWork
from engine.text import check_json, check_text
from engine.workflow.case_runtime import CaseRuntime, json_safe


def add_client(rt: CaseRuntime, name: str, fields: Mapping[str, Any] | None) -> Client:
    """Register a client. The name and fields must be storable text (engine.text), and
    each field a pathway declares must fit its declared type (FormValidationError)."""
    check_text(name, "name")
    check_json(dict(fields or {}), "fields")
    with rt.uow() as uow:
        # a client with no fields needs no definition: one unloadable version must not
        # stop intake (with fields, its refusal names the version that cannot be read)
        if fields:
            check_client_fields(rt, uow, fields)
        client = uow.clients.add(Client(id=None, name=name, fields=json_safe(fields or {}),
                                        created_at=rt.clock.now()))
        uow.commit()
    return client


def check_client_fields(rt: CaseRuntime, uow: UnitOfWork, fields: Mapping[str, Any]) -> None:
    """Refuse client fields that do not fit the types the pathways declare for them."""
    problems = client_field_problems(fields, _declared_client_fields(rt, uow))
    if problems:
        raise FormValidationError(
            "client fields do not fit the types the pathways declare: "
            + ", ".join(problems), fields=problems)


def _declared_client_fields(rt: CaseRuntime, uow: UnitOfWork) -> dict[str, set[str]]:
    """Client field -> the types the latest version of each pathway declares for it."""
    declared: dict[str, set[str]] = {}
    for version in uow.versions.latest_all():
        parsed = rt.parsed(uow, version.pathway, version.number)
        for name, kind in parsed.client_field_types.items():
            declared.setdefault(name, set()).add(kind)
    return declared


def get_client(rt: CaseRuntime, client_id: int) -> Client:
    with rt.uow(read_only=True) as uow:
        return rt.client(uow, client_id)


def clients(rt: CaseRuntime) -> list[Client]:
    with rt.uow(read_only=True) as uow:
        return uow.clients.list()
