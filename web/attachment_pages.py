"""Documents on a client's record, from the client page: uploading one (a multipart form,
CSRF-protected), downloading it, taking it off the record.

The checks (access, size, type, the virus scanner) are engine.casework.attachments'; these
views translate requests and answers. A download is always offered as a file to save
(Content-Disposition: attachment) with the type found from its content and nosniff, so a
browser never renders an upload as a page of this site.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, request, url_for

from engine.attachment_ports import Attachment
from engine.casework import megabytes
from engine.errors import (
    EngineError,
    InfectedError,
    InvalidArgumentError,
    ScannerUnavailableError,
    TooLargeError,
)
from engine.model import User
from web.casework import client_page_with
from web.security import application, current_user, login_required

bp = Blueprint("attachments", __name__)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A size for people: 812 bytes, 14 KB, 2.5 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return megabytes(size)


UPLOADS = ("attachments.upload", "api.add_attachment")  # the endpoints that take a file
FORM_ROOM = 64 * 1024  # what a form's other fields and multipart framing may add to a file


def allow_uploads() -> None:
    """Before anything reads the body (the CSRF check does): an upload may be as large as
    the attachment limit, every other request keeps the app's MAX_CONTENT_LENGTH."""
    if request.endpoint in UPLOADS:
        request.max_content_length = max_upload() + FORM_ROOM


def max_upload() -> int:
    return application().attachments.max_bytes


def too_large_message() -> str:
    return (f"The file is too large: a document may be at most {megabytes(max_upload())}. "
            "Nothing was added.")


def _user() -> User:
    user = current_user()
    assert user is not None  # login_required ran
    return user


def init_app(app: Flask) -> None:
    """The size allowance, before the CSRF check reads the body (call before csrf.init_app)."""
    app.before_request(allow_uploads)


def read_upload() -> tuple[str, bytes]:
    """The uploaded file's name and bytes (at most the limit and one byte, so a larger one
    is told as too large without being kept whole); no file: InvalidArgumentError."""
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise InvalidArgumentError("choose a file to upload", details={
            "fields": {"file": ["choose a file to upload"]}})
    try:
        return sent.filename, sent.stream.read(max_upload() + 1)
    finally:
        sent.close()  # a large one was spooled to a temporary file


def case_field(problems: dict[str, list[str]]) -> int | None:
    """The optional case the document is tied to (the form's or the API's `case`)."""
    text = request.form.get("case", "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        problems["case"] = ["must be one of this client's case numbers"]
        return None
    return int(text)


UPLOAD_REFUSALS = (InvalidArgumentError, TooLargeError, InfectedError, ScannerUnavailableError)


def upload_status(err: EngineError) -> int:
    return {"too_large": 413, "infected": 422, "scanner_unavailable": 503}.get(err.code, 400)


@bp.post("/clients/<int:client_id>/attachments")
@login_required
def upload(client_id: int) -> Any:
    problems: dict[str, list[str]] = {}
    case_id = case_field(problems)
    sent = {"case": request.form.get("case", "")}
    try:
        if problems:
            raise InvalidArgumentError("check the fields marked", details={"fields": problems})
        filename, data = read_upload()
        added = application().attachments.add(_user(), client_id, filename, data,
                                              case_id=case_id)
    except UPLOAD_REFUSALS as err:
        fields = err.details.get("fields") or {"file": [err.message]}
        page = client_page_with(client_id, attachment=sent, attachment_problems=fields)
        return (page, upload_status(err)) if isinstance(page, str) else page
    flash(f"Added {added.filename}.")
    return redirect(url_for("casework.client", client_id=client_id) + "#documents")


def file_response(attachment: Attachment, data: bytes) -> Response:
    """The document as a download: its sniffed type, never rendered inline."""
    response = current_app.response_class(data, mimetype=attachment.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    attachment, data = application().attachments.download(_user(), attachment_id)
    return file_response(attachment, data)


@bp.post("/attachments/<int:attachment_id>/remove")
@login_required
def remove(attachment_id: int) -> Any:
    removed = application().attachments.remove(_user(), attachment_id)
    flash(f"Removed {removed.filename}.")
    return redirect(url_for("casework.client", client_id=removed.client_id) + "#documents")
