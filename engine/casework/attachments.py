"""Documents on a client's record (issue 18, item 2): adding, listing, downloading and
removing them, under the client record's access rules.

Reading follows the record (engine.casework.casework_access.client_access, "view_client"):
the client's own organisations and admins, another organisation under the client's consent
or a break-glass reason; an attachment tied to a case the user may not know of is not found.
Adding and removing write to the record: only an organisation working with the client, or
an admin, never under break-glass. Every download is written to the access log, and so are
additions and removals (the client's history of their documents).

An upload is checked before anything is kept: its size (TooLargeError), its type sniffed
from its bytes (attachment_checks), then the virus scanner (InfectedError; a scanner that
cannot be asked refuses it too: ScannerUnavailableError). Its bytes are stored under a
random key, never one made from its name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from engine import access
from engine.access import privacy
from engine.attachment_ports import (
    Attachment,
    AttachmentStore,
    NoScanner,
    Scanner,
    ScannerUnavailable,
)
from engine.casework.attachment_checks import ALLOWED_WORDS, safe_filename, sniff
from engine.casework.casework_access import CaseworkContext, ClientAccess
from engine.casework.casework_views import CasePage, ClientRecord
from engine.errors import (
    ForbiddenError,
    InfectedError,
    InvalidArgumentError,
    NotFoundError,
    ScannerUnavailableError,
    TooLargeError,
)
from engine.model import User
from engine.ports import UnitOfWork

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def megabytes(size: int) -> str:
    """A size for people: 10 MB, 2.5 MB."""
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


@dataclass(frozen=True)
class DocumentEvent:
    """A document added to or removed from the record, for the client's timeline."""

    at: datetime
    type: str  # document_added or document_removed
    actor: str | None
    filename: str
    attachment_id: int | None
    case_id: int | None


@dataclass(frozen=True)
class AttachmentList:
    """A client's documents as a user may see them: those on the record (`shown`), every
    one added or removed (`history`, oldest first), and whether the user may add."""

    shown: list[Attachment]
    history: list[Attachment]
    may_add: bool

    @property
    def events(self) -> list[DocumentEvent]:
        """Each addition and removal, oldest first."""
        found = [DocumentEvent(a.uploaded_at, "document_added", a.uploaded_by, a.filename,
                               a.id, a.case_id) for a in self.history]
        found += [DocumentEvent(a.removed_at, "document_removed", a.removed_by, a.filename,
                                a.id, a.case_id) for a in self.history if a.removed_at]
        return sorted(found, key=lambda e: e.at)


class Attachments:
    """The use cases of a client's documents, on the casework context's access checks."""

    def __init__(self, cw: CaseworkContext, store: AttachmentStore,
                 scanner: Scanner | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
                 ) -> None:
        self.cw = cw
        self.store = store
        self.scanner: Scanner = scanner or NoScanner()
        self.max_bytes = max_bytes

    # -- adding --------------------------------------------------------------------------

    def add(self, user: User, client_id: int, filename: str, data: bytes, *,
            case_id: int | None = None) -> Attachment:
        """Check, scan and keep a document on the client's record (optionally tied to one
        of the client's cases the user may see)."""
        cw = self.cw
        with cw.uow() as uow:
            found = cw.client_access(uow, user, client_id, None, "add_attachment")
            if case_id is not None and case_id not in self._visible_cases(uow, user, found):
                raise InvalidArgumentError(
                    f"case {case_id} is not one of this client's cases",
                    details={"fields": {"case": [f"case {case_id} is not one of this "
                                                 "client's cases"]}})
        content_type = self.check(data)
        key = secrets.token_hex(16)
        self.store.put(key, data, content_type)
        try:
            with cw.uow() as uow:
                added = uow.attachments.add(Attachment(
                    id=None, client_id=client_id, case_id=case_id, key=key,
                    filename=safe_filename(filename, content_type),
                    content_type=content_type, size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), uploaded_by=user.username,
                    organisation=user.organisation, uploaded_at=cw.clock.now()))
                cw.log_access(uow, user, "add_attachment", client_id, attachment=added.id,
                              case=case_id, filename=added.filename, break_glass=False)
                uow.commit()
        except BaseException:
            self.store.delete(key)  # nothing recorded: keep no bytes either
            raise
        return added

    def check(self, data: bytes) -> str:
        """The document's type, once it passed the size and type checks and the scanner."""
        if len(data) > self.max_bytes:
            message = (f"the file is {megabytes(len(data))}; the limit is "
                       f"{megabytes(self.max_bytes)}")
            raise TooLargeError(message, details={"fields": {"file": [message]},
                                                  "limit": self.max_bytes})
        if not data:
            raise InvalidArgumentError("the file is empty", details={
                "fields": {"file": ["the file is empty"]}})
        content_type = sniff(data)
        if content_type is None:
            message = f"this kind of file is not accepted: send {ALLOWED_WORDS}"
            raise InvalidArgumentError(message, details={"fields": {"file": [message]}})
        try:
            verdict = self.scanner.scan(data)
        except ScannerUnavailable as err:
            raise ScannerUnavailableError(
                "the virus scanner cannot be reached, so no document can be added just now; "
                "try again later or tell the operators", details={"reason": str(err)}
            ) from err
        if not verdict.clean:
            message = (f"the virus scanner found {verdict.finding or 'a threat'} in the file; "
                       "it was not added")
            raise InfectedError(message, details={"fields": {"file": [message]},
                                                  "finding": verdict.finding})
        return content_type

    # -- reading -------------------------------------------------------------------------

    def listing(self, user: User, client_id: int, *, reason: str | None = None,
                case_id: int | None = None, logged: bool = True) -> AttachmentList:
        """The client's documents the user may see (of one case, with case_id): checked
        as the client record is; logged as a view of the list unless the caller logged the
        view it is part of (the record page)."""
        cw = self.cw
        with cw.uow() as uow:
            found = cw.client_access(uow, user, client_id, reason, "view_client",
                                     refused_as="list_attachments")
            visible = self._visible_cases(uow, user, found)
            kept = [a for a in uow.attachments.for_client(client_id)
                    if (a.case_id is None or a.case_id in visible)
                    and (case_id is None or a.case_id == case_id)]
            if logged:
                self._log_read(uow, user, found, "list_attachments", case=case_id)
            uow.commit()
        return AttachmentList(
            shown=[a for a in kept if a.removed_at is None], history=kept,
            may_add=found.decision.basis in ("admin", "organisation"))

    def of_record(self, record: ClientRecord) -> AttachmentList:
        """The documents of a client record the user has just been shown (its access
        checked and logged by client_record): those of the cases it shows, or of none."""
        cases = {s.case.id for s in record.cases}
        with self.cw.uow(read_only=True) as uow:
            kept = [a for a in uow.attachments.for_client(record.client.id or 0)
                    if a.case_id is None or a.case_id in cases]
        return AttachmentList(shown=[a for a in kept if a.removed_at is None], history=kept,
                              may_add=record.may_record_consent)

    def of_case(self, page: CasePage) -> list[Attachment]:
        """The documents tied to a case the user has just been shown (case_page checked
        and logged it)."""
        with self.cw.uow(read_only=True) as uow:
            return [a for a in uow.attachments.for_client(page.case.client_id)
                    if a.case_id == page.case.id and a.removed_at is None]

    def download(self, user: User, attachment_id: int, *, reason: str | None = None
                 ) -> tuple[Attachment, bytes]:
        """The document and its bytes, if the user may read the client's record and know
        of its case; every download is logged (a refusal too)."""
        cw = self.cw
        with cw.uow() as uow:
            attachment = self._get(uow, attachment_id)
            found = cw.client_access(uow, user, attachment.client_id, reason, "view_client",
                                     refused_as="download_attachment")
            if attachment.case_id is not None and attachment.case_id not in \
                    self._visible_cases(uow, user, found):
                raise NotFoundError(f"no attachment {attachment_id}",
                                    details={"attachment": attachment_id})
            try:
                data = self.store.get(attachment.key)
            except KeyError as err:
                raise NotFoundError(f"the file of attachment {attachment_id} is missing "
                                    "from the store; tell the operators",
                                    details={"attachment": attachment_id}) from err
            self._log_read(uow, user, found, "download_attachment",
                           attachment=attachment_id, filename=attachment.filename)
            uow.commit()
        return attachment, data

    # -- removing ------------------------------------------------------------------------

    def remove(self, user: User, attachment_id: int) -> Attachment:
        """Take a document off the record: its bytes are deleted, its record kept for the
        history. An admin, or the organisation that added it while it works with the
        client."""
        cw = self.cw
        now = cw.clock.now()
        with cw.uow() as uow:
            attachment = self._get(uow, attachment_id)
            cw.client_access(uow, user, attachment.client_id, None, "add_attachment",
                             refused_as="remove_attachment")
            if user.role != "admin" and user.organisation != attachment.organisation:
                raise ForbiddenError("only the organisation that added a document (or an "
                                     "admin) removes it",
                                     details={"attachment": attachment_id})
            uow.attachments.mark_removed(attachment_id, user.username, now)
            cw.log_access(uow, user, "remove_attachment", attachment.client_id,
                          attachment=attachment_id, filename=attachment.filename,
                          break_glass=False)
            uow.commit()
        self.store.delete(attachment.key)
        return dataclasses.replace(attachment, removed_at=now, removed_by=user.username)

    # -- shared --------------------------------------------------------------------------

    def _get(self, uow: UnitOfWork, attachment_id: int) -> Attachment:
        attachment = uow.attachments.get(attachment_id)
        if attachment is None or attachment.removed_at is not None:
            raise NotFoundError(f"no attachment {attachment_id}",
                                details={"attachment": attachment_id})
        return attachment

    def _visible_cases(self, uow: UnitOfWork, user: User, found: ClientAccess) -> set[int]:
        """The client's cases the user may know of (engine.access.privacy)."""
        visible = access.visible_categories(user, involved=found.involved,
                                            consents=found.consents,
                                            today=self.cw.clock.now().date())
        redactor = privacy.Redactor(self.cw.sensitivity(uow, found.cases), visible,
                                    sees_unknown=access.may_see_unloadable(user))
        return {c.id for c in found.cases
                if c.id is not None and redactor.case(c) is not None
                and not redactor.withholds(c.pathway, c.version)}

    def _log_read(self, uow: UnitOfWork, user: User, found: ClientAccess, action: str,
                  **detail: object) -> None:
        """Log a read under the break-glass opening it comes under, if any."""
        glass = found.decision.break_glass
        grant = found.grant if glass else None
        self.cw.log_access(uow, user, action, found.client.id,
                           reason=found.reason if glass else None,
                           basis=found.decision.basis, break_glass=glass,
                           **({"grant": grant.id} if grant is not None else {}), **detail)
