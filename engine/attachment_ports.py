"""Documents attached to a client (a signed consent, a tenancy agreement): the record kept
of each, and the ports the engine stores their bytes and has them scanned through.

The bytes live in an `AttachmentStore` under an opaque random key the engine makes (never
from the file's name); the record (`Attachment`) lives in the database through
`AttachmentRepository`. A `Scanner` looks at every upload before anything is stored.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    """One stored document. `filename` is the uploaded name made safe to show and offer
    back; `content_type` the type its content was found to be (never the browser's word);
    `removed_at`/`removed_by` are set when it was taken off the record (its bytes deleted,
    this record kept for the client's history)."""

    id: int | None
    client_id: int
    case_id: int | None
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    organisation: str
    uploaded_at: datetime
    removed_at: datetime | None = None
    removed_by: str | None = None


class AttachmentRepository(Protocol):
    def add(self, attachment: Attachment) -> Attachment:
        """Store the record; returns it with its id set."""
        ...

    def get(self, attachment_id: int) -> Attachment | None: ...

    def for_client(self, client_id: int) -> builtins.list[Attachment]:
        """The client's attachments, removed ones too, oldest first."""
        ...

    def mark_removed(self, attachment_id: int, by: str, at: datetime) -> None:
        """Record that the attachment was taken off the record."""
        ...


class AttachmentStore(Protocol):
    """Where attachments' bytes are kept, by an opaque key the engine made (letters and
    digits only: an adapter refuses any other key)."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """The bytes kept under key (KeyError when there are none)."""
        ...

    def delete(self, key: str) -> None:
        """Forget the bytes under key (nothing happens when there are none)."""
        ...


@dataclass(frozen=True)
class ScanResult:
    """What a scanner found: clean, or the name of what it found."""

    clean: bool
    finding: str | None = None


class ScannerUnavailable(Exception):
    """The scanner could not be asked, or gave no answer it could read: the upload is
    refused (fail closed)."""


class Scanner(Protocol):
    def scan(self, data: bytes) -> ScanResult:
        """Scan the bytes; ScannerUnavailable when no verdict can be had."""
        ...


class NoScanner:
    """The default: nothing is scanned (PATHWAYS_CLAMD unset)."""

    name = "none"

    def scan(self, data: bytes) -> ScanResult:
        return ScanResult(clean=True)
