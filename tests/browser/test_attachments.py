"""Adding a document to a client's record in a real browser, at desktop width and on a phone
(375 px): the upload form on the client page, the document listed with its download link,
a refused file told at the field. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import Snap, assert_no_sideways
from tests.browser.test_caseworker_journey import demo, sign_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")

WIDTHS = {"phone": (375, 812), "desktop": (1280, 800)}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.parametrize("size", WIDTHS)
def test_a_caseworker_adds_a_signed_consent(page: Page, snap: Snap, size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "caseworker")
    page.goto("/clients")
    page.locator("main a[href^='/clients/']").first.click()
    form = page.locator("#add-document")
    expect(form).to_be_visible()
    assert_no_sideways(page, "the client page scrolls sideways")

    # a file that is not a document is refused at its field, nothing added
    page.get_by_label("File").set_input_files(
        {"name": "tool.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00\x03"})
    form.get_by_role("button", name="Add document").click()
    expect(page.locator("#document-file-error")).to_contain_text(
        "this kind of file is not accepted")
    snap(page, f"{size}-refused")

    page.get_by_label("File").set_input_files(
        {"name": "Signed consent.pdf", "mimeType": "application/pdf", "buffer": PDF})
    case = form.get_by_label("About a case (optional)")
    case.select_option(index=1)
    snap(page, f"{size}-chosen")
    page.locator("#add-document").get_by_role("button", name="Add document").click()
    expect(page.get_by_role("status").filter(
        has_text="Added Signed consent.pdf.")).to_be_visible()
    link = page.locator("ul.documents").get_by_role("link", name="Signed consent.pdf")
    expect(link).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("document added")
    assert_no_sideways(page, "the documents list scrolls sideways")
    box = link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    snap(page, f"{size}-added")

    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    assert download.suggested_filename == "Signed consent.pdf"
    path = download.path()
    assert path is not None and path.read_bytes() == PDF
    assert re.search(r"/clients/\d+", page.url)
