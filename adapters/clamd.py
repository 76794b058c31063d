"""The virus scanner port (engine.attachment_ports.Scanner) over clamd's INSTREAM command,
on a TCP or a unix socket (PATHWAYS_CLAMD: tcp://host:3310, unix:///run/clamav/clamd.ctl, or
a socket's path). Anything but a clear answer is ScannerUnavailable: the upload is refused."""

from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

from engine.attachment_ports import NoScanner, Scanner, ScannerUnavailable, ScanResult

CHUNK = 64 * 1024
ANSWER_LIMIT = 4096  # bytes of clamd's answer read at most


class ClamdScanner:
    """Asks clamd: zINSTREAM, the bytes in length-prefixed chunks, a zero-length chunk;
    clamd answers `stream: OK`, `stream: NAME FOUND` or `... ERROR`."""

    name = "clamd"

    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.address)
        if parts.scheme == "tcp":
            if not parts.hostname or not parts.port:
                raise ScannerUnavailable(f"PATHWAYS_CLAMD {self.address!r} needs a host "
                                         "and a port")
            return socket.create_connection((parts.hostname, parts.port), self.timeout)
        path = parts.path if parts.scheme == "unix" else self.address
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(self.timeout)
        try:
            unix.connect(path)
        except BaseException:
            unix.close()
            raise
        return unix

    def scan(self, data: bytes) -> ScanResult:
        try:
            with self._connect() as conn:
                conn.sendall(b"zINSTREAM\0")
                for start in range(0, len(data), CHUNK):
                    chunk = data[start:start + CHUNK]
                    conn.sendall(struct.pack("!L", len(chunk)) + chunk)
                conn.sendall(struct.pack("!L", 0))
                answer = _read_answer(conn)
        except OSError as err:
            raise ScannerUnavailable(f"clamd at {self.address} cannot be reached "
                                     f"({type(err).__name__})") from err
        return _verdict(answer)


def _read_answer(conn: socket.socket) -> str:
    received = b""
    while b"\0" not in received and len(received) < ANSWER_LIMIT:
        part = conn.recv(ANSWER_LIMIT)
        if not part:
            break
        received += part
    return received.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _verdict(answer: str) -> ScanResult:
    """clamd's answer as a ScanResult; anything else is ScannerUnavailable."""
    _, _, result = answer.partition(": ")
    if result == "OK":
        return ScanResult(clean=True)
    if result.endswith(" FOUND"):
        return ScanResult(clean=False, finding=result.removesuffix(" FOUND").strip())
    raise ScannerUnavailable(f"clamd gave no verdict ({answer[:200] or 'no answer'})")


def make_scanner(address: str | None) -> Scanner:
    """The scanner PATHWAYS_CLAMD names; none when it is unset."""
    return ClamdScanner(address) if address else NoScanner()
