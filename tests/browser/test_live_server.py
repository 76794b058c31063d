"""The browser tests' live server closes every response, even for a client that has gone.

werkzeug's development server skips closing a response when, after sending it, its read
of whatever is left of the request fails because the client reset the connection: the file
behind a static file is then closed only when it is collected, with a ResourceWarning that
fails whichever test it lands in (CI once: a favicon the browser dropped while the designer
test moved on). tests/browser/conftest.py closes each response as its sending ends."""

from __future__ import annotations

import gc
import socket
import struct

from tests.browser.support import LiveApp


def _fetch_then_reset(port: int, path: str) -> bytes:
    """GET path, read the whole answer, then reset the connection at once (no orderly
    close), while the server still looks for the rest of the request."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: close\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < _length(answer):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return answer


def _length(answer: bytes) -> int:
    """The whole answer's length, from its headers' Content-Length."""
    head, _, _ = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(answer) + 1  # no length: read to the end


def test_a_client_that_resets_after_a_static_file_leaves_no_file_open(live_app: LiveApp
                                                                      ) -> None:
    port = int(live_app.base_url.rsplit(":", 1)[1])
    for _ in range(30):
        answer = _fetch_then_reset(port, "/static/favicon.svg")
        assert answer.startswith(b"HTTP/1.1 200")
    gc.collect()  # an unclosed file warns here, and the warning fails the test
