"""What an uploaded document is, found from its bytes, and the name it may be shown under.

The browser's content type and the file's extension are never trusted: the type is sniffed
from the content and only the types in ALLOWED_TYPES are kept. The name a user gave is
reduced to a plain file name (no folders, no control characters) that is only ever shown
and offered back on download, never used to store the file.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"

# what each accepted type is called to people, and the extension a download gets
ALLOWED_TYPES = {PDF: ("PDF", ".pdf"), PNG: ("PNG image", ".png"),
                 JPEG: ("JPEG image", ".jpg"), TEXT: ("plain text", ".txt"),
                 DOCX: ("Word document", ".docx"), ODT: ("OpenDocument text", ".odt")}
ALLOWED_WORDS = "PDF, PNG, JPEG, plain text, Word (.docx) or OpenDocument text (.odt)"
MAX_NAME = 120  # characters of a shown file name
_ZIP_MEMBERS = 2000  # a document with more parts than this is not one we take


def sniff(data: bytes) -> str | None:
    """The accepted type the bytes are, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    return TEXT if _plain_text(data) else None


def _office(data: bytes) -> str | None:
    """DOCX or ODT by what the ZIP holds (its directory only: nothing is unpacked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(names) > _ZIP_MEMBERS:
                return None
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100 and \
                    archive.read("mimetype").strip() == ODT.encode():
                return ODT
    except (zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError, OSError):
        return None
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return DOCX
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _plain_text(data: bytes) -> bool:
    """UTF-8 text without control characters (tabs, line and page breaks allowed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not _CONTROL.search(text)


_UNSAFE = re.compile(r"[^\w .()\-+,&'@]+")


def safe_filename(name: str, content_type: str) -> str:
    """The name to show: its last path part, NFC, only word characters and a few marks,
    no leading dots, at most MAX_NAME characters, ending in the type's extension."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    extension = ALLOWED_TYPES[content_type][1]
    stem, dot, given = base.rpartition(".")
    if dot and f".{given.lower()}" in (extension, ".jpeg" if content_type == JPEG else ""):
        base = stem.rstrip(" ._")
    base = (base or "document")[:MAX_NAME - len(extension)]
    return base + extension
