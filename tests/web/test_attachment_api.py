"""Documents through the API: POST /api/v1/clients/C/attachments (multipart), the list, and
GET /api/v1/attachments/A; every answer checked against the OpenAPI document (the contract
client of tests/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.clamd import ClamdScanner
from engine.attachment_ports import NoScanner
from tests.web.attachment_world import (
    DATABASES,
    EICAR,
    PDF,
    AttachmentWorld,
    FakeClamd,
    free_port,
    world_per_database,
)
from web.api import PREFIX as API
from web.api import REASON_HEADER

REASON = "Client walked into our office asking for help"


@pytest.fixture(scope="module", params=DATABASES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[AttachmentWorld]:
    yield from world_per_database(request, tmp_path_factory)


def call(world: AttachmentWorld, username: str | None, method: str, path: str,
         **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if username is not None:
        headers["Authorization"] = f"Bearer {world.tokens[username]}"
    return world.site.client().open(API + path, method=method, headers=headers, **kwargs)


def post_file(world: AttachmentWorld, username: str, client_id: int, data: bytes,
              name: str, **form: str) -> Any:
    return call(world, username, "POST", f"/clients/{client_id}/attachments",
                data={"file": (io.BytesIO(data), name), **form},
                content_type="multipart/form-data")


def test_add_list_and_download(world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Api Aaron")
    added = post_file(world, "sg_caseworker", aaron, PDF, "../consent.pdf",
                      case=str(world.cases["Api Aaron"]))
    assert added.status_code == 201, added.text
    body = added.json["attachment"]
    assert (body["filename"], body["content_type"], body["size"]) == (
        "consent.pdf", "application/pdf", len(PDF))
    assert added.headers["Location"] == f"{API}/attachments/{body['id']}" == body["download"]

    listed = call(world, "sg_team_lead", "GET", f"/clients/{aaron}/attachments")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json["attachments"]] == [body["id"]]
    assert listed.json["may_add"] is True

    download = call(world, "sg_caseworker", "GET", f"/attachments/{body['id']}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=consent.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert [e.action for e in world.access_log(aaron)][-2:] == [
        "list_attachments", "download_attachment"]
    exported = call(world, "sg_admin", "GET", f"/clients/{aaron}/export").json
    assert [(a["filename"], a["sha256"]) for a in exported["attachments"]] == [
        ("consent.pdf", body["sha256"])]  # the subject access export names it too


def test_refusals_are_json_errors_naming_the_field(world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Api Refusals")
    wrong_type = post_file(world, "sg_caseworker", aaron, b"\x7fELF\x02\x01", "a.pdf")
    assert wrong_type.status_code == 400
    assert "file" in wrong_type.json["error"]["details"]["fields"]
    missing = call(world, "sg_caseworker", "POST", f"/clients/{aaron}/attachments",
                   data={"case": "1"}, content_type="multipart/form-data")
    assert missing.status_code == 400
    assert missing.json["error"]["details"]["fields"] == {"file": ["choose a file to upload"]}
    bad_case = post_file(world, "sg_caseworker", aaron, PDF, "a.pdf", case="x")
    assert bad_case.json["error"]["details"]["fields"] == {
        "case": ["must be one of this client's case numbers"]}
    attachments = world.application.attachments
    attachments.max_bytes = 1024
    try:
        over = post_file(world, "sg_caseworker", aaron, PDF + bytes(2048), "a.pdf")
        assert over.status_code == 413 and over.json["error"]["code"] == "too_large"
        assert over.json["error"]["details"]["limit"] == 1024
        far = post_file(world, "sg_caseworker", aaron, PDF + bytes(100_000), "a.pdf")
        assert far.status_code == 413 and far.json["error"]["code"] == "too_large"
        assert "at most 1 MB" not in far.json["error"]["message"]
    finally:
        attachments.max_bytes = 10 * 1024 * 1024
    clamd = FakeClamd()
    try:
        attachments.scanner = ClamdScanner(clamd.address, timeout=5)
        infected = post_file(world, "sg_caseworker", aaron, EICAR, "eicar.txt")
        assert infected.status_code == 422 and infected.json["error"]["code"] == "infected"
        attachments.scanner = ClamdScanner(f"tcp://127.0.0.1:{free_port()}", timeout=5)
        down = post_file(world, "sg_caseworker", aaron, PDF, "a.pdf")
        assert down.status_code == 503
        assert down.json["error"]["code"] == "scanner_unavailable"
    finally:
        attachments.scanner = NoScanner()
        clamd.close()
    assert world.attachments(aaron) == []


def test_access_follows_the_client_record(world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Api Access")
    added = post_file(world, "sg_caseworker", aaron, PDF, "a.pdf").json["attachment"]
    path = f"/attachments/{added['id']}"
    assert call(world, None, "GET", path).status_code == 401
    for user in ("om_caseworker", "om_team_lead", "sg_designer", "sg_commissioner"):
        assert call(world, user, "GET", path).status_code == 403, user
        assert call(world, user, "GET", f"/clients/{aaron}/attachments").status_code == 403
        assert post_file(world, user, aaron, PDF, "b.pdf").status_code == 403, user
    for user in ("sg_caseworker", "sg_team_lead", "om_admin", "sg_admin"):
        assert call(world, user, "GET", path).status_code == 200, user
    # a break-glass reason opens reading, never writing
    opened = call(world, "om_caseworker", "GET", path, headers={REASON_HEADER: REASON})
    assert opened.status_code == 200 and opened.data == PDF
    assert post_file(world, "om_caseworker", aaron, PDF, "b.pdf",
                     reason=REASON).status_code == 403
    assert call(world, "om_caseworker", "GET", path + "?reason=x").status_code == 400
    assert call(world, "sg_caseworker", "GET", "/attachments/999999").status_code == 404
    assert call(world, "sg_caseworker", "GET", "/clients/999999/attachments"
                ).status_code == 404
    assert len(world.attachments(aaron)) == 1


def test_the_document_describes_the_routes(world: AttachmentWorld) -> None:
    document = call(world, None, "GET", "/openapi.json").json
    upload = document["paths"][f"{API}/clients/{{client_id}}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"400", "403", "404", "413", "422", "503"} <= set(upload["responses"])
    download = document["paths"][f"{API}/attachments/{{attachment_id}}"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]
