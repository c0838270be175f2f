"""A local archive mirror on 127.0.0.1 (port 0) that tests fill with small zips and program faults into."""

from __future__ import annotations

import hashlib
import io
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from liquidationheatmap.archive_layout import ArchiveFile
from liquidationheatmap.checksum import checksum_line


def make_zip(file: ArchiveFile, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{file.stem}.csv", text)
    return buffer.getvalue()


class Mirror:
    """What the server holds (path -> bytes), the faults it plays (path -> actions, one per request)
    and every request it answered (path, status)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, int]] = []
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.base_url = ""

    def publish(self, file: ArchiveFile, text: str = "1,2\n", checksum: str | None = None) -> bytes:
        """Put a zip and its CHECKSUM (the right one unless `checksum` is given) on the server."""
        payload = make_zip(file, text)
        digest = checksum or hashlib.sha256(payload).hexdigest()
        path = file.relative_path().as_posix()
        self.files[path] = payload
        self.files[path + ".CHECKSUM"] = checksum_line(digest, file.zip_name).encode()
        return payload

    def fault(self, file: ArchiveFile, *actions: str, suffix: str = "") -> None:
        """Actions played on the next requests for the zip (or zip + suffix): "500", "503", "403",
        "short" (Content-Length larger than the bytes sent, then the connection closes) or "reset"
        (the connection closes before any response)."""
        self.faults[file.relative_path().as_posix() + suffix] = list(actions)

    def zip_requests(self) -> list[str]:
        return [path for path, _ in self.requests if path.endswith(".zip")]

    def url_requests(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _record(self, path: str, status: int) -> None:
            with mirror.lock:
                mirror.requests.append((path, status))

        def do_GET(self) -> None:
            path = urlparse(self.path).path.lstrip("/")
            with mirror.lock:
                mirror.in_flight += 1
                mirror.max_in_flight = max(mirror.max_in_flight, mirror.in_flight)
                actions = mirror.faults.get(path)
                action = actions.pop(0) if actions else None
            try:
                if mirror.delay:
                    time.sleep(mirror.delay)
                self._answer(path, action)
            finally:
                with mirror.lock:
                    mirror.in_flight -= 1

        def _answer(self, path: str, action: str | None) -> None:
            body = mirror.files.get(path)
            if action == "reset":
                self._record(path, 0)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action in ("500", "503", "403"):
                self._send(path, int(action), b"error\n")
                return
            if body is None:
                self._send(path, 404, b"<Error><Code>NoSuchKey</Code></Error>")
                return
            if action == "short":
                self._record(path, 200)
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body) + 1000))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(path, 200, body)

        def _send(self, path: str, status: int, body: bytes) -> None:
            self._record(path, status)
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client closing an idle keep-alive connection resets it; anything else is a test bug.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()
    server = _QuietServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
