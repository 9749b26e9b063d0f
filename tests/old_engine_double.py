"""A test double: an old Docker engine, made of a small HTTP proxy on a unix socket in front of the
real test engine. It forwards every request and answer, but says it speaks only the API versions
``minimum``..``maximum``: ``GET /version`` and every answer's ``Api-Version`` header say
``maximum``, and a request whose path asks for a newer or older version is refused as a real
engine refuses it (400, "client version 1.41 is too new. Maximum supported API version is 1.24").

The real engine cannot be made older, so this is how the tests reach the paths of an old engine
(below carina-tui's minimum, a feature it lacks, an engine replaced by an older one while the
console runs, a pinned version older than an engine's minimum). ``maximum`` may be changed while
it runs. Streams (events, logs) are forwarded chunk by chunk.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

_VERSIONED = re.compile(r"^/v(\d+\.\d+)(/.*)$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


class _ToEngine(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Api-Version", self.server.double.maximum)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _request(self) -> None:
        double = self.server.double
        double.paths.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        found = _VERSIONED.match(self.path)
        if found:
            asked = found.group(1)
            message = ""
            if _v(asked) > _v(double.maximum):
                message = f"client version {asked} is too new. Maximum supported API version is {double.maximum}"
            elif _v(asked) < _v(double.minimum):
                message = (f"client version {asked} is too old. Minimum supported API version is {double.minimum}, "
                           "please upgrade your client to a newer version")
            if message:
                self._send(400, json.dumps({"message": message}).encode(), [("Content-Type", "application/json")])
                return
        engine = _ToEngine(double.engine_path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        try:
            engine.request(self.command, self.path, body=body, headers=headers)
            answer = engine.getresponse()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP | {"api-version"}]
            if answer.getheader("Content-Length") is not None or self.command == "HEAD":
                data = answer.read()
                if urlsplit(self.path).path.rstrip("/").endswith("/version") and answer.status == 200:
                    doc = json.loads(data)
                    doc["ApiVersion"], doc["MinAPIVersion"] = double.maximum, double.minimum
                    data = json.dumps(doc).encode()
                self._send(answer.status, data, kept)
                return
            self.send_response(answer.status)  # a stream: forwarded as it comes
            for name, value in kept:
                self.send_header(name, value)
            self.send_header("Api-Version", double.maximum)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := answer.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            engine.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _request


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    double: "OldEngineDouble"


class OldEngineDouble:
    """``url`` is the old engine; ``close()`` stops it. ``paths`` lists the requests it got."""

    def __init__(self, engine_url: str, socket_path: Path, *, maximum: str, minimum: str = "1.12") -> None:
        assert engine_url.startswith("unix://"), "the double stands in front of a unix socket"
        self.engine_path = engine_url[len("unix://"):]
        self.maximum = maximum
        self.minimum = minimum
        self.paths: list[str] = []
        self.url = f"unix://{socket_path}"
        self._server = _Server(str(socket_path), _Handler)
        self._server.double = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="old-engine-double", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
