"""Where attachments' bytes are kept (engine.attachment_ports.AttachmentStore): a local
folder (the default: beside the SQLite database, or PATHWAYS_ATTACHMENTS_DIR) or an
S3-compatible bucket (PATHWAYS_ATTACHMENTS_S3_BUCKET; boto3, the `s3` extra).

Keys are the engine's random hex strings; both stores refuse any other key, so no key can
name a path outside the folder or the prefix, whatever reaches them.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from engine.attachment_ports import AttachmentStore
from engine.numbers import parse_int

_KEY = re.compile(r"[0-9a-f]{32}")


def checked_key(key: str) -> str:
    """The key, if it is one the engine makes (32 lowercase hex digits); else ValueError."""
    if not _KEY.fullmatch(key):
        raise ValueError("not an attachment key")
    return key


class LocalFolderStore:
    """Files in a folder (made on first use, readable by this user only), one per key,
    spread over sub-folders by the key's first two digits; written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        key = checked_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as err:
            raise KeyError(key) from err

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """Objects in an S3-compatible bucket, under `prefix` + key, through a boto3 S3 client
    (any endpoint: AWS, MinIO, Ceph, ...). Credentials come the usual boto3 way
    (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                               ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey as err:
            raise KeyError(key) from err
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def s3_client(endpoint: str | None, region: str | None) -> Any:
    """A boto3 S3 client for the endpoint (None: AWS's own); boto3 is the `s3` extra."""
    try:
        import boto3
    except ImportError as err:  # pragma: no cover - depends on what is installed
        raise RuntimeError("PATHWAYS_ATTACHMENTS_S3_BUCKET needs boto3: install pathways[s3]"
                           ) from err
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)


def default_folder(database_url: str) -> Path:
    """Beside a SQLite database file (pathways.sqlite -> pathways.sqlite.attachments), else
    in the state folder, as the incident log's."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        path = Path(database).resolve()
        return path.with_name(path.name + ".attachments")
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    return (Path(state) if state else Path.home() / ".local" / "state") / "pathways" / \
        "attachments"


@dataclass(frozen=True, kw_only=True)
class AttachmentSettings:
    """Where attachments go and how they are checked: the folder (None: default_folder), or
    an S3 bucket when one is named (its endpoint, region and key prefix), the largest
    upload in bytes, and clamd's address (None: nothing is scanned)."""

    folder: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_prefix: str = "attachments/"
    max_bytes: int = 10 * 1024 * 1024
    clamd: str | None = None

    @classmethod
    def from_env(cls) -> AttachmentSettings:
        """PATHWAYS_ATTACHMENTS_DIR, PATHWAYS_ATTACHMENTS_S3_BUCKET (_ENDPOINT, _REGION,
        _PREFIX), PATHWAYS_ATTACHMENT_MAX_MB (1 to 100, default 10), PATHWAYS_CLAMD."""
        env = {name: os.environ.get(name, "").strip() for name in (
            "PATHWAYS_ATTACHMENTS_DIR", "PATHWAYS_ATTACHMENTS_S3_BUCKET",
            "PATHWAYS_ATTACHMENTS_S3_ENDPOINT", "PATHWAYS_ATTACHMENTS_S3_REGION",
            "PATHWAYS_ATTACHMENTS_S3_PREFIX", "PATHWAYS_ATTACHMENT_MAX_MB", "PATHWAYS_CLAMD")}
        megabytes = env["PATHWAYS_ATTACHMENT_MAX_MB"]
        return cls(
            folder=Path(env["PATHWAYS_ATTACHMENTS_DIR"]) if env["PATHWAYS_ATTACHMENTS_DIR"]
            else None,
            s3_bucket=env["PATHWAYS_ATTACHMENTS_S3_BUCKET"] or None,
            s3_endpoint=env["PATHWAYS_ATTACHMENTS_S3_ENDPOINT"] or None,
            s3_region=env["PATHWAYS_ATTACHMENTS_S3_REGION"] or None,
            s3_prefix=os.environ.get("PATHWAYS_ATTACHMENTS_S3_PREFIX", "attachments/"),
            max_bytes=(parse_int(megabytes, field="PATHWAYS_ATTACHMENT_MAX_MB", minimum=1,
                                 maximum=100) if megabytes else 10) * 1024 * 1024,
            clamd=env["PATHWAYS_CLAMD"] or None)


def make_store(settings: AttachmentSettings, database_url: str) -> AttachmentStore:
    """The S3 store when a bucket is named, else the local folder."""
    if settings.s3_bucket:
        return S3Store(s3_client(settings.s3_endpoint, settings.s3_region),
                       settings.s3_bucket, settings.s3_prefix)
    return LocalFolderStore(settings.folder or default_folder(database_url))
