"""Where documents go and what checks them: the attachments table on SQLite and PostgreSQL,
the local folder store on a real temporary folder, the S3 store against moto's fake S3, and
the clamd scanner against a tiny fake clamd (TCP and unix socket)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine

from adapters.attachment_store import (
    AttachmentSettings,
    LocalFolderStore,
    S3Store,
    default_folder,
    make_store,
)
from adapters.clamd import ClamdScanner, make_scanner
from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine.attachment_ports import Attachment, NoScanner, ScannerUnavailable
from engine.model import Client
from tests.web.attachment_world import EICAR, FakeClamd, free_port

KEY = "0123456789abcdef0123456789abcdef"
BAD_KEYS = ["../etc/passwd", "..", "", "a/b", "0123456789ABCDEF0123456789ABCDEF",
            KEY + "/x", "/" + KEY, KEY[:-1] + "\x00"]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_attachments_table_keeps_records_and_removals(db_engine: Engine) -> None:
    uow = SqlAlchemyUnitOfWorkFactory(db_engine)  # disposed by the fixture: no connection left
    with uow() as work:
        client = work.clients.add(Client(id=None, name="Dana", fields={}))
        assert client.id is not None
        first = work.attachments.add(Attachment(
            None, client.id, None, KEY, "consent.pdf", "application/pdf", 12, "ab" * 32,
            "amy", "st_giles_trust", T0))
        second = work.attachments.add(Attachment(
            None, client.id, None, "f" * 32, "tenancy.pdf", "application/pdf",
            11 * 1024 * 1024, "cd" * 32, "amy", "st_giles_trust", T0.replace(hour=10)))
        work.commit()
    assert first.id is not None and second.id is not None
    with uow() as work:
        work.attachments.mark_removed(first.id, "bob", T0.replace(hour=11))
        work.commit()
    with uow(read_only=True) as work:
        found = work.attachments.for_client(client.id)
        assert [a.filename for a in found] == ["consent.pdf", "tenancy.pdf"]
        assert found[0].removed_by == "bob" and found[0].removed_at == T0.replace(hour=11)
        assert found[1].size == 11 * 1024 * 1024 and found[1].removed_at is None
        assert work.attachments.get(second.id) == found[1]
        assert work.attachments.get(999999) is None
        assert work.attachments.for_client(999999) == []


def test_the_local_folder_keeps_files_by_key_only(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "files")
    store.put(KEY, b"%PDF-1.4", "application/pdf")
    assert (tmp_path / "files" / KEY[:2] / KEY).read_bytes() == b"%PDF-1.4"
    assert store.get(KEY) == b"%PDF-1.4"
    store.put(KEY, b"again", "text/plain")  # replaced whole
    assert store.get(KEY) == b"again"
    assert not [p for p in (tmp_path / "files").rglob(".upload-*")]
    store.delete(KEY)
    store.delete(KEY)  # gone already: nothing happens
    with pytest.raises(KeyError):
        store.get(KEY)
    for bad in BAD_KEYS:
        with pytest.raises(ValueError):
            store.put(bad, b"x", "text/plain")
        with pytest.raises(ValueError):
            store.get(bad)
    assert not (tmp_path / "etc").exists()


def test_the_default_folder_is_beside_the_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "pathways.sqlite"
    assert default_folder(f"sqlite:///{database}") == tmp_path / "pathways.sqlite.attachments"
    store = make_store(AttachmentSettings(), f"sqlite:///{database}")
    assert isinstance(store, LocalFolderStore) and store.root == tmp_path / \
        "pathways.sqlite.attachments"
    chosen = make_store(AttachmentSettings(folder=tmp_path / "elsewhere"), "postgresql://x/y")
    assert isinstance(chosen, LocalFolderStore) and chosen.root == tmp_path / "elsewhere"


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("PATHWAYS_ATTACHMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("PATHWAYS_ATTACHMENT_MAX_MB", "3")
    monkeypatch.setenv("PATHWAYS_CLAMD", "tcp://127.0.0.1:3310")
    settings = AttachmentSettings.from_env()
    assert (settings.folder, settings.max_bytes, settings.clamd) == (
        tmp_path, 3 * 1024 * 1024, "tcp://127.0.0.1:3310")
    assert isinstance(make_scanner(settings.clamd), ClamdScanner)
    assert isinstance(make_scanner(None), NoScanner)
    monkeypatch.setenv("PATHWAYS_ATTACHMENT_MAX_MB", "a lot")
    with pytest.raises(Exception, match="PATHWAYS_ATTACHMENT_MAX_MB"):
        AttachmentSettings.from_env()


def test_the_s3_store_against_a_fake_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "eu-west-2")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket="documents", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-2"})
        store = make_store(AttachmentSettings(s3_bucket="documents", s3_region="eu-west-2"),
                           "sqlite:///unused.sqlite")
        assert isinstance(store, S3Store)
        store.put(KEY, b"%PDF-1.4", "application/pdf")
        stored = client.get_object(Bucket="documents", Key=f"attachments/{KEY}")
        assert stored["Body"].read() == b"%PDF-1.4"
        assert stored["ContentType"] == "application/pdf"
        assert store.get(KEY) == b"%PDF-1.4"
        store.delete(KEY)
        with pytest.raises(KeyError):
            store.get(KEY)
        for bad in BAD_KEYS:
            with pytest.raises(ValueError):
                store.put(bad, b"x", "text/plain")
        assert client.list_objects_v2(Bucket="documents").get("KeyCount") == 0


@pytest.mark.parametrize("where", ["tcp", "unix"])
def test_clamd_clean_and_infected(where: str, tmp_path: Path) -> None:
    clamd = FakeClamd(unix=tmp_path / "clamd.sock" if where == "unix" else None)
    try:
        scanner = ClamdScanner(clamd.address, timeout=5)
        assert scanner.scan(b"a letter").clean
        found = scanner.scan(b"prefix " + EICAR)
        assert not found.clean and found.finding == "Eicar-Test-Signature"
        big = bytes(200_000)  # several INSTREAM chunks
        assert scanner.scan(big).clean
        assert clamd.received[-1] == big
    finally:
        clamd.close()
    if where == "unix":  # a bare path names a unix socket too
        assert ClamdScanner(str(tmp_path / "clamd.sock")).address.endswith("clamd.sock")


@pytest.mark.parametrize("answer", [b"stream: INSTREAM size limit exceeded. ERROR\0", b"",
                                    b"nonsense"])
def test_clamd_without_a_verdict_fails_closed(answer: bytes) -> None:
    clamd = FakeClamd(answer)
    try:
        with pytest.raises(ScannerUnavailable):
            ClamdScanner(clamd.address, timeout=5).scan(b"a letter")
    finally:
        clamd.close()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "unix:///nonexistent/clamd",
                                     "tcp://no-port"])
def test_an_unreachable_clamd_fails_closed(address: str) -> None:
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(address.format(port=free_port()), timeout=2).scan(b"a letter")
