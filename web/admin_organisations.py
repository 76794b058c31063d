"""Admins' page of organisations: the list (with how many users each has), adding one and
renaming one. An organisation's id is what records hold, so it never changes; there is no
deactivating an organisation (the model has no such state): deactivate its users instead.
Through engine.accounts, as `pathways orgs ...`; each change is written to the access log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import ConflictError, InvalidArgumentError
from web.security import application, current_user, roles_required

bp = Blueprint("admin_organisations", __name__)


def _page(*, form: dict[str, str] | None = None, problems: dict[str, list[str]] | None = None,
          renaming: str = "", status: int = 200) -> Any:
    accounts = application().accounts
    users = accounts.users()
    counts = Counter(u.organisation for u in users if u.active)
    return render_template("admin_organisations.html", organisations=accounts.organisations(),
                           counts=counts, form=form or {}, problems=problems or {},
                           renaming=renaming), status


@bp.get("/admin/organisations")
@roles_required("admin")
def organisations() -> Any:
    return _page()


@bp.post("/admin/organisations")
@roles_required("admin")
def add_organisation() -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in ("id", "name")}
    try:
        added = application().accounts.add_organisation(form["id"], form["name"],
                                                        by=current_user(), exists_ok=False)
    except InvalidArgumentError as err:
        return _page(form=form, problems=err.details.get("fields") or {}, status=422)
    except ConflictError as err:
        return _page(form=form, problems=err.details.get("fields") or {}, status=409)
    flash(f"Added {added.name}.")
    return redirect(url_for("admin_organisations.organisations"))


@bp.post("/admin/organisations/<org_id>/rename")
@roles_required("admin")
def rename_organisation(org_id: str) -> Any:
    name = (request.form.get("name") or "").strip()
    try:  # an unknown organisation: NotFoundError, 404
        renamed = application().accounts.rename_organisation(org_id, name, by=current_user())
    except InvalidArgumentError as err:
        fields = err.details.get("fields") or {}
        return _page(form={"rename_name": name}, problems={"rename_name": fields.get(
            "name", []) or [m for ms in fields.values() for m in ms]}, renaming=org_id,
            status=422)
    flash(f"{org_id} is now called {renamed.name}.")
    return redirect(url_for("admin_organisations.organisations"))
