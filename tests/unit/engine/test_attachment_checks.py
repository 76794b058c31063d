"""What an upload is found to be from its bytes, and the name it is shown under."""

from __future__ import annotations

import io
import zipfile

import pytest

from engine.casework.attachment_checks import DOCX, JPEG, ODT, PDF, PNG, TEXT, safe_filename, sniff


def _zip(**members: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name.replace("__", "/"), text)
    return out.getvalue()


@pytest.mark.parametrize(("data", "kind"), [
    (b"%PDF-1.7\n...", PDF),
    (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
    ("Tenancy from 1 May, £450 a month.\r\n\tSigned.\n".encode(), TEXT),
    (_zip(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<w/>"}), DOCX),
    (_zip(mimetype=ODT, **{"content.xml": "<x/>"}), ODT),
])
def test_accepted_types_are_found_from_their_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00", b"\x7fELF\x02", b"GIF89a\x01\x00\x01\x00\x80",
    b"text with a NUL\x00 in it", b"\xff\xfe\x00",
    b"PK\x03\x04 a broken zip", _zip(**{"other.xml": "<x/>"}),
    _zip(mimetype="application/vnd.oasis.opendocument.spreadsheet"),
    b"escape \x1b[31m codes",
])
def test_anything_else_is_refused(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize(("name", "kind", "shown"), [
    ("Signed consent.PDF", PDF, "Signed consent.pdf"),
    ("../../etc/passwd", TEXT, "passwd.txt"),
    ("..\\..\\windows\\system32.pdf", PDF, "system32.pdf"),
    ("C:\\Users\\amy\\scan.jpeg", JPEG, "scan.jpg"),
    ("photo.pdf", PNG, "photo.pdf.png"),
    ("page.html", TEXT, "page.html.txt"),
    (".htaccess", TEXT, "htaccess.txt"),
    ("..", PDF, "document.pdf"),
    ("", DOCX, "document.docx"),
    ("a\x00b\u202egnp.pdf", PDF, "a_b_gnp.pdf"),
    ("Zoë's lettre.odt", ODT, "Zoë's lettre.odt"),
    ("x" * 500 + ".pdf", PDF, "x" * 116 + ".pdf"),
])
def test_names_are_made_safe_and_end_in_the_type_s_extension(name: str, kind: str,
                                                              shown: str) -> None:
    assert safe_filename(name, kind) == shown
