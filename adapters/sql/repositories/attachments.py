"""engine.attachment_ports.AttachmentRepository over SQLAlchemy Core (revision 0030)."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update

from adapters.sql import tables
from adapters.sql.repositories.common import SqlRepository, columns_of, insert_id, record_from
from engine.attachment_ports import Attachment


class SqlAttachmentRepository(SqlRepository):
    """The records of documents on clients' records; a removal is marked, never deleted."""

    def add(self, attachment: Attachment) -> Attachment:
        new_id = insert_id(self._connection, tables.attachments, columns_of(attachment))
        return replace(attachment, id=new_id)

    def get(self, attachment_id: int) -> Attachment | None:
        a = tables.attachments
        return self._one(lambda row: record_from(Attachment, row),
                         select(a).where(a.c.id == attachment_id))

    def for_client(self, client_id: int) -> builtins.list[Attachment]:
        a = tables.attachments
        rows = self._connection.execute(
            select(a).where(a.c.client_id == client_id).order_by(a.c.uploaded_at, a.c.id))
        return [record_from(Attachment, row) for row in rows]

    def mark_removed(self, attachment_id: int, by: str, at: datetime) -> None:
        a = tables.attachments
        self._connection.execute(update(a).where(a.c.id == attachment_id)
                                 .values(removed_at=at, removed_by=by))
