"""Signing in and out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web.security import application, current_user, limiter, safe_next, sign_in, sign_out

bp = Blueprint("auth", __name__)


def _username_key() -> str:
    return "user:" + (request.form.get("username") or "").strip().lower()


def _carried(target: str | None) -> str:
    """The `next` the sign-in form carries: a path of this site, else nothing."""
    return target if target and safe_next(target) == target else ""


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])  # per address
@limiter.limit("5 per minute", methods=["POST"], key_func=_username_key)
def login() -> Any:
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("login.html", username="", next=_carried(request.args.get("next")))
    username = (request.form.get("username") or "").strip().lower()
    password = request.form.get("password") or ""
    user = application().accounts.authenticate(username, password)
    if user is None:
        return render_template("login.html", username=username,
                               next=_carried(request.form.get("next")),
                               error="Wrong username or password."), 401
    sign_in(user)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
