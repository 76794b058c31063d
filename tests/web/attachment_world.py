"""A programme with documents to attach, once per database, and the files and fake virus
scanner the attachment tests use (tests/web/test_attachments.py, test_attachment_api.py)."""

from __future__ import annotations

import io
import socket
import socketserver
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from adapters.attachment_store import AttachmentSettings
from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from engine.attachment_ports import Attachment
from engine.model import User
from tests.conftest import PostgresTestDatabase
from tests.web.conftest import CHEAP_HASHER, PASSWORD, Site, StoredRecords, csrf_token
from tests.web.conftest import force_sign_in as _force_sign_in
from tests.web.test_pages import ORGANISATIONS, PATHWAY_OF, ROLES, publish_shipped
from web import create_app
from web.security import limiter

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


@dataclass
class AttachmentWorld(StoredRecords):
    site: Site
    folder: Path
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)

    @property
    def application(self) -> Any:
        return self.site.application

    def browser(self, username: str) -> tuple[FlaskClient, str]:
        """A test client signed in as username, with a CSRF token."""
        client = self.site.client()
        token = csrf_token(client.get("/login").text)
        _force_sign_in(client, self.site, username)
        return client, token

    def attachments(self, client_id: int) -> list[Attachment]:
        with self.uow() as uow:
            found: list[Attachment] = uow.attachments.for_client(client_id)
            return found

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())

    def new_client(self, org: str, name: str) -> int:
        fields = {"release_date": (date.today() + timedelta(days=30)).isoformat()} \
            if org == "sg" else {"phone": "01733 123456"}
        client = self.application.casework.add_client(self.users[f"{org}_caseworker"], name,
                                                      fields)
        view = self.application.engine.start_case(PATHWAY_OF[org], client.id,
                                                  actor=f"{org}_caseworker")
        self.clients[name] = client.id
        self.cases[name] = view.case.id
        return int(client.id)


def build(url: str, folder: Path) -> AttachmentWorld:
    settings = Settings(database_url=url, secret_key="test-secret",
                        definitions_dir=Path("no-definitions"),
                        attachments=AttachmentSettings(folder=folder))
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    publish_shipped(application)
    world = AttachmentWorld(Site(app, application), folder)
    for prefix, (org_id, org_name) in ORGANISATIONS.items():
        application.accounts.add_organisation(org_id, org_name)
        for role in ROLES:
            username = f"{prefix}_{role}"
            world.users[username] = application.accounts.add_user(
                username, f"{org_name} {role}", org_id, role, PASSWORD)
            world.tokens[username] = application.accounts.issue_token(username, "tests")[1]
    world.new_client("sg", "Aaron Smith")
    world.new_client("om", "Cara Green")
    return world


def world_per_database(request: pytest.FixtureRequest,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttachmentWorld]:
    """The body of a module's `world` fixture, params sqlite and postgresql (DATABASES)."""
    postgres: PostgresTestDatabase | None = None
    schema: str | None = None
    base = tmp_path_factory.mktemp(f"attachments-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{base / 'pathways.sqlite3'}"
    else:
        postgres = request.getfixturevalue("postgres_database")
        assert postgres is not None
        schema = postgres.create_schema()
        url = postgres.schema_url(schema)
    world = build(url, base / "files")
    try:
        yield world
    finally:
        world.application.close()
        if postgres is not None and schema is not None:
            postgres.drop_schema(schema)


DATABASES = ["sqlite", "postgresql"]


# -- a fake clamd --------------------------------------------------------------------------


class FakeClamd:
    """A tiny clamd: reads zINSTREAM and its chunks, answers FOUND for the EICAR test string
    (or `answer`, when set), else OK. `received` keeps what it was sent."""

    def __init__(self, answer: bytes | None = None, *, unix: Path | None = None) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                command = _read_until(conn, b"\0")
                assert command == b"zINSTREAM", command
                data = b""
                while True:
                    size = int.from_bytes(_read_exactly(conn, 4), "big")
                    if size == 0:
                        break
                    data += _read_exactly(conn, size)
                fake.received.append(data)
                if fake.answer is not None:
                    conn.sendall(fake.answer)
                elif EICAR in data:
                    conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
                else:
                    conn.sendall(b"stream: OK\0")

        server: socketserver.BaseServer
        if unix is not None:
            server = socketserver.ThreadingUnixStreamServer(str(unix), Handler)
            self.address = f"unix://{unix}"
        else:
            server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
            self.address = f"tcp://127.0.0.1:{server.server_address[1]}"
        server.daemon_threads = True  # type: ignore[attr-defined]
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = conn.recv(size - len(data))
        if not part:
            raise ConnectionError("closed early")
        data += part
    return data


def _read_until(conn: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        part = conn.recv(1)
        if not part:
            break
        data += part
    return data.removesuffix(end)


def free_port() -> int:
    """A port nothing listens on (for an unreachable scanner)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
