"""Documents on a client's record: uploading one (multipart/form-data), listing them,
downloading one. The same checks and access rules as the pages (engine.casework.attachments);
a break-glass reason goes in the X-Pathways-Reason header, as for the record."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue

from engine.attachment_ports import Attachment
from engine.casework import ALLOWED_TYPES
from engine.errors import InvalidArgumentError
from engine.plain import to_plain
from web.api.clients import REASON_HEADER, REASON_PARAMETERS, reason
from web.api.common import api_user, bp
from web.api.openapi import operation
from web.attachment_pages import case_field, file_response, read_upload
from web.security import application


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    assert attachment.id is not None
    return {"id": attachment.id, "client_id": attachment.client_id,
            "case_id": attachment.case_id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256, "uploaded_by": attachment.uploaded_by,
            "organisation": attachment.organisation,
            "uploaded_at": to_plain(attachment.uploaded_at),
            "download": url_for("api.download_attachment", attachment_id=attachment.id)}


@bp.post("/clients/<int:client_id>/attachments")
@operation("Add a document", tag="attachments", ok=201, result="AttachmentResult",
           body="NewAttachment", body_media="multipart/form-data",
           errors=(400, 403, 404, 405, 413, 422, 503),
           description="A document on the client's record (a signed consent, a tenancy "
           "agreement), optionally about one of their cases. Only an organisation working "
           "with the client (or an admin); never under break-glass. Its type is found from "
           "its content (PDF, PNG, JPEG, plain text, DOCX, ODT: else 400); over the size "
           "limit: 413 too_large; the virus scanner found something: 422 infected, nothing "
           "kept; the scanner cannot be reached: 503 scanner_unavailable.")
def add_attachment(client_id: int) -> ResponseReturnValue:
    problems: dict[str, list[str]] = {}
    case_id = case_field(problems)
    if problems:
        raise InvalidArgumentError("invalid form fields", details={"fields": problems})
    filename, data = read_upload()
    added = application().attachments.add(api_user(), client_id, filename, data,
                                          case_id=case_id)
    assert added.id is not None
    return jsonify({"attachment": attachment_json(added)}), 201, {
        "Location": url_for("api.download_attachment", attachment_id=added.id)}


@bp.get("/clients/<int:client_id>/attachments")
@operation("A client's documents", tag="attachments", result="AttachmentList",
           query=REASON_PARAMETERS, errors=(400, 403, 404, 405),
           description="The documents on the client's record you may see (those of a case "
           "you may not know of are left out), oldest first. Checked as the record is: "
           f"403 with details.reason_required, a reason in the {REASON_HEADER} header "
           "opens it (logged).")
def list_attachments(client_id: int) -> ResponseReturnValue:
    found = application().attachments.listing(api_user(), client_id, reason=reason())
    return jsonify({"attachments": [attachment_json(a) for a in found.shown],
                    "may_add": found.may_add})


@bp.get("/attachments/<int:attachment_id>")
@operation("Download a document", tag="attachments", files=tuple(ALLOWED_TYPES),
           query=REASON_PARAMETERS, errors=(400, 403, 404),
           description="The document's bytes, with the type found from its content, "
           "Content-Disposition: attachment and X-Content-Type-Options: nosniff. Checked as "
           "the client's record is; every download is written to the access log.")
def download_attachment(attachment_id: int) -> ResponseReturnValue:
    attachment, data = application().attachments.download(api_user(), attachment_id,
                                                          reason=reason())
    return file_response(attachment, data)
