"""Documents on a client's record through the pages (issue 18, item 2): upload from the
client page, the list and downloads on the client and case pages, removal, and every
refusal (size, type, virus scanner, access), on SQLite and PostgreSQL, files in a real
folder."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from adapters.clamd import ClamdScanner
from engine.attachment_ports import NoScanner
from tests.web.attachment_world import (
    DATABASES,
    EICAR,
    PDF,
    PNG,
    AttachmentWorld,
    FakeClamd,
    docx,
    free_port,
    odt,
    world_per_database,
)

REASON = "Client walked into our office asking for help"


@pytest.fixture(scope="module", params=DATABASES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[AttachmentWorld]:
    yield from world_per_database(request, tmp_path_factory)


def upload(world: AttachmentWorld, username: str, client_id: int, data: bytes, name: str,
           **form: str) -> Any:
    """POST the upload form; the body is encoded here, in memory (the test client would
    spool a large one to a temporary file it never closes)."""
    browser, token = world.browser(username)
    boundary, body = encode_multipart({"csrf_token": token, **form, "file": FileStorage(
        io.BytesIO(data), filename=name, content_type="application/octet-stream")})
    return browser.post(f"/clients/{client_id}/attachments", data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")


@contextmanager
def scanner(world: AttachmentWorld, address: str) -> Iterator[None]:
    attachments = world.application.attachments
    attachments.scanner = ClamdScanner(address, timeout=5)
    try:
        yield
    finally:
        attachments.scanner = NoScanner()


@contextmanager
def limit(world: AttachmentWorld, size: int) -> Iterator[None]:
    attachments = world.application.attachments
    kept = attachments.max_bytes
    attachments.max_bytes = size
    try:
        yield
    finally:
        attachments.max_bytes = kept


def test_a_caseworker_uploads_a_pdf_lists_and_downloads_it(
        world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Upload")
    response = upload(world, "sg_caseworker", aaron, PDF, "Signed consent.PDF",
                      content_type_hint="text/html")
    assert response.status_code == 302 and response.location.endswith(
        f"/clients/{aaron}#documents"), response.text
    (stored,) = world.attachments(aaron)
    assert (stored.filename, stored.content_type, stored.size) == (
        "Signed consent.pdf", "application/pdf", len(PDF))
    assert re.fullmatch(r"[0-9a-f]{32}", stored.key)
    assert (world.folder / stored.key[:2] / stored.key).read_bytes() == PDF

    browser, _ = world.browser("sg_caseworker")
    page = browser.get(f"/clients/{aaron}").text
    assert "Signed consent.pdf" in page and f'href="/attachments/{stored.id}"' in page
    assert "document added" in page  # on the client's timeline
    download = browser.get(f"/attachments/{stored.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Signed consent.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    actions = [e.action for e in world.access_log(aaron)]
    assert "add_attachment" in actions and "download_attachment" in actions


def test_the_type_comes_from_the_content_not_the_name(world: AttachmentWorld
                                                      ) -> None:
    aaron = world.new_client("sg", "Aaron Types")
    for data, name, kind in ((PNG, "photo.pdf", "image/png"), (docx(), "a.txt", "wordprocessingml"),
                             (odt(), "letter", "opendocument"),
                             (b"Tenancy starts 1 May.\n", "notes.exe", "text/plain")):
        assert upload(world, "sg_caseworker", aaron, data, name).status_code == 302
        assert kind in world.attachments(aaron)[-1].content_type
    assert [a.filename for a in world.attachments(aaron)] == [
        "photo.pdf.png", "a.txt.docx", "letter.odt", "notes.exe.txt"]


def test_a_file_of_a_refused_type_is_told_at_its_field_and_nothing_kept(
        world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Refused")
    before = world.stored_files()
    for data, name in ((b"MZ\x90\x00\x03" + bytes(60), "consent.pdf"),
                       (b"<html><script>alert(1)</script>\x00</html>", "page.html"),
                       (b"PK\x03\x04not really a zip", "tenancy.docx")):
        response = upload(world, "sg_caseworker", aaron, data, name, case="")
        assert response.status_code == 400, response.text
        assert "Nothing was added" in response.text
        assert "this kind of file is not accepted" in response.text
        assert 'id="document-file-error"' in response.text
    empty = upload(world, "sg_caseworker", aaron, b"", "empty.txt")
    assert empty.status_code == 400 and "the file is empty" in empty.text
    assert world.attachments(aaron) == [] and world.stored_files() == before


def test_traversal_names_never_reach_the_store(world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Traversal")
    names = ["../../etc/passwd.pdf", "..\\..\\windows\\system32.pdf", "/abs/path.pdf",
             "....//x.pdf", "a\x01b\u202e.pdf", ".hidden.pdf", "..", "%2e%2e%2fpasswd.pdf"]
    for name in names:
        assert upload(world, "sg_caseworker", aaron, PDF, name).status_code == 302, name
    shown = [a.filename for a in world.attachments(aaron)]
    assert len(shown) == len(names)
    for name in shown:  # the form's encoding may drop a backslash: see test_attachment_checks
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name.endswith(".pdf") and "\x01" not in name and "\u202e" not in name
    assert shown[0] == "passwd.pdf" and shown[2] == "path.pdf" and shown[6] == "document.pdf"
    for attachment in world.attachments(aaron):
        assert re.fullmatch(r"[0-9a-f]{32}", attachment.key)
    for path in world.stored_files():  # nothing outside the folder, no user name inside
        assert path.resolve().is_relative_to(world.folder.resolve())
        assert re.fullmatch(r"[0-9a-f]{32}", path.name)


def test_a_file_over_the_limit_is_refused_clearly(world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Large")
    with limit(world, 1024):
        over = upload(world, "sg_caseworker", aaron, PDF + bytes(2000), "big.pdf")
        assert over.status_code == 413, over.text
        assert "the limit is 1 KB" not in over.text and "the limit is" in over.text
        assert 'id="document-file-error"' in over.text  # the form again, told at the field
        far_over = upload(world, "sg_caseworker", aaron, PDF + bytes(200_000), "huge.pdf")
        assert far_over.status_code == 413
        assert "The file is too large: a document may be at most" in far_over.text
    assert world.attachments(aaron) == []


def test_the_default_limit_is_ten_megabytes_not_the_app_s_two(
        world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Default")
    assert world.application.attachments.max_bytes == 10 * 1024 * 1024
    response = upload(world, "sg_caseworker", aaron, PDF + bytes(3 * 1024 * 1024), "scan.pdf")
    assert response.status_code == 302, response.text[:300]
    assert world.attachments(aaron)[0].size == len(PDF) + 3 * 1024 * 1024


def test_an_infected_file_is_refused_and_nothing_kept(world: AttachmentWorld,
                                                     tmp_path: Any) -> None:
    aaron = world.new_client("sg", "Aaron Infected")
    before = world.stored_files()
    clamd = FakeClamd()
    try:
        with scanner(world, clamd.address):
            infected = upload(world, "sg_caseworker", aaron, EICAR, "eicar.txt")
            assert infected.status_code == 422, infected.text
            assert "the virus scanner found Eicar-Test-Signature in the file" in infected.text
            clean = upload(world, "sg_caseworker", aaron, PDF, "clean.pdf")
            assert clean.status_code == 302
        assert clamd.received == [EICAR, PDF]
    finally:
        clamd.close()
    assert [a.filename for a in world.attachments(aaron)] == ["clean.pdf"]
    assert len(world.stored_files()) == len(before) + 1


def test_an_unreachable_scanner_refuses_every_upload(world: AttachmentWorld
                                                     ) -> None:
    aaron = world.new_client("sg", "Aaron Unscanned")
    with scanner(world, f"tcp://127.0.0.1:{free_port()}"):
        response = upload(world, "sg_caseworker", aaron, PDF, "consent.pdf")
    assert response.status_code == 503, response.text
    assert "the virus scanner cannot be reached" in response.text
    assert world.attachments(aaron) == []


def test_another_organisation_reads_only_as_it_reads_the_record(
        world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Private")
    assert upload(world, "sg_caseworker", aaron, PDF, "consent.pdf").status_code == 302
    (attachment,) = world.attachments(aaron)
    other, token = world.browser("om_caseworker")
    refused = other.get(f"/attachments/{attachment.id}")
    assert refused.status_code == 403 and PDF not in refused.data
    assert world.access_log(aaron)[-1].action == "download_attachment_refused"
    # a reason opens the record for a while: reading the document too, logged with it
    assert other.post(f"/clients/{aaron}/open", data={
        "csrf_token": token, "reason": REASON}).status_code == 302
    opened = other.get(f"/attachments/{attachment.id}")
    assert opened.status_code == 200 and opened.data == PDF
    entry = world.access_log(aaron)[-1]
    assert (entry.action, entry.reason, entry.detail["break_glass"]) == (
        "download_attachment", REASON, True)
    # ... but never writing: no upload, no removal under break-glass
    response = other.post(f"/clients/{aaron}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(PDF), "mine.pdf")})
    assert response.status_code == 403
    assert other.post(f"/attachments/{attachment.id}/remove",
                      data={"csrf_token": token}).status_code == 403
    assert len(world.attachments(aaron)) == 1
    for role in ("sg_designer", "sg_commissioner"):
        viewer, _ = world.browser(role)
        assert viewer.get(f"/attachments/{attachment.id}").status_code == 403


def test_a_document_about_a_case_shows_on_the_case_page(world: AttachmentWorld
                                                        ) -> None:
    aaron = world.new_client("sg", "Aaron Case")
    case = world.cases["Aaron Case"]
    assert upload(world, "sg_caseworker", aaron, PDF, "tenancy.pdf",
                  case=str(case)).status_code == 302
    assert world.attachments(aaron)[0].case_id == case
    browser, _ = world.browser("sg_caseworker")
    assert "tenancy.pdf" in browser.get(f"/cases/{case}").text
    # a case of another client, or no case number at all, is told at the field
    for wrong in (str(world.cases["Cara Green"]), "abc", "99999999999999999999"):
        refused = upload(world, "sg_caseworker", aaron, PDF, "other.pdf", case=wrong)
        assert refused.status_code == 400, (wrong, refused.text[:200])
        assert 'id="document-case-error"' in refused.text
    assert len(world.attachments(aaron)) == 1


def test_removing_a_document_deletes_its_bytes_and_keeps_its_history(
        world: AttachmentWorld) -> None:
    aaron = world.new_client("sg", "Aaron Remove")
    assert upload(world, "sg_caseworker", aaron, PDF, "old.pdf").status_code == 302
    (attachment,) = world.attachments(aaron)
    stored = world.folder / attachment.key[:2] / attachment.key
    assert stored.exists()
    browser, token = world.browser("sg_team_lead")
    response = browser.post(f"/attachments/{attachment.id}/remove", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith(
        f"/clients/{aaron}#documents")
    assert not stored.exists()
    (removed,) = world.attachments(aaron)
    assert removed.removed_by == "sg_team_lead" and removed.removed_at is not None
    assert browser.get(f"/attachments/{attachment.id}").status_code == 404
    page = browser.get(f"/clients/{aaron}").text
    assert "document removed" in page and "No documents." in page
    assert world.access_log(aaron)[-2].action == "remove_attachment"


def test_an_admin_of_any_organisation_may_remove_but_not_another_organisation(
        world: AttachmentWorld) -> None:
    cara = world.new_client("om", "Cara Remove")
    assert upload(world, "om_caseworker", cara, PDF, "a.pdf").status_code == 302
    (attachment,) = world.attachments(cara)
    other, token = world.browser("sg_caseworker")
    assert other.post(f"/attachments/{attachment.id}/remove",
                      data={"csrf_token": token}).status_code == 403
    admin, token = world.browser("sg_admin")
    assert admin.post(f"/attachments/{attachment.id}/remove",
                      data={"csrf_token": token}).status_code == 302


def test_the_upload_form_is_csrf_protected_and_multipart(world: AttachmentWorld
                                                         ) -> None:
    aaron = world.clients["Aaron Smith"]
    browser, _ = world.browser("sg_caseworker")
    page = browser.get(f"/clients/{aaron}").text
    form = page[page.index('id="add-document"') - 200:]
    assert 'enctype="multipart/form-data"' in form and 'name="csrf_token"' in form
    response = browser.post(f"/clients/{aaron}/attachments", data={
        "file": (io.BytesIO(PDF), "a.pdf")})
    assert response.status_code == 400 and "could not be accepted" in response.text
    assert world.attachments(aaron) == []
