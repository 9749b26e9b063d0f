"""Keep-alive HTTP requests over an engine's unix socket, for calls made by the thousand.

docker-py's unix-socket adapter keys its connection pools by the full URL, so
every call about another container opens a new connection and a new pool:
about 2 ms of CPU per call here, against 0.5 ms on a kept-alive connection.
Bulk removal (cleanup of 1,000 containers: an inspect, then a DELETE, each) needs
the cheaper one to keep up with ``docker rm``. Used by ``DockerGateway`` only; no
docker-py, no Textual.

A request is sent again only when it cannot have reached the engine: a kept-alive
connection the engine closed is noticed before sending (it reads as closed) or when
sending fails. Once a request's bytes are out, a failure to read the answer is
``Unanswered``: a DELETE may have been carried out, and sending it again would only
blur what happened (the caller looks instead). Only a GET, which changes nothing,
is then tried once more on a fresh connection.
"""

from __future__ import annotations

import http.client
import json
import queue
import select
import socket
from typing import Any, NamedTuple

IDLE = 10  # connections kept open at most (as docker-py's pool)


class Unanswered(OSError):
    """The request was sent but no whole answer came back: it may or may not have taken effect."""


class _NotSent(OSError):
    """The request could not be sent: the engine cannot have acted on it."""


class Answer(NamedTuple):
    status: int
    body: bytes

    @property
    def message(self) -> str:
        """The engine's ``message`` (the body itself when it is not a JSON object)."""
        text = self.body.decode("utf-8", "replace").strip()
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            return text
        return str(doc.get("message") or text) if isinstance(doc, dict) else text

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def dropped(self) -> bool:
        """True when the engine closed this idle connection (it reads as ready: end of stream)."""
        if self.sock is None:
            return True
        try:
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True


class UnixKeepAlive:
    """A few kept-alive connections to one socket, shared by threads (one per request at a time)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue(IDLE)

    def get(self, target: str) -> Answer:
        """A GET (changes nothing, so it may be tried again on a fresh connection)."""
        return self._send("GET", target)

    def request(self, method: str, target: str) -> Answer:
        """Any request. OSError when it could not be sent; ``Unanswered`` when it was sent
        and no answer came back (never sent twice)."""
        return self._send(method, target)

    def _send(self, method: str, target: str) -> Answer:
        conn, reused = self._take()
        try:
            return self._exchange(conn, method, target)
        except _NotSent:
            if not reused:
                raise
            # The engine closed the kept-alive connection: the request did not go out. Once more, fresh.
        except Unanswered as exc:
            if not (reused and method == "GET" and not isinstance(exc.__cause__, TimeoutError)):
                raise
        return self._exchange(_Connection(self.path, self.timeout), method, target)

    def _exchange(self, conn: _Connection, method: str, target: str) -> Answer:
        try:
            conn.request(method, target)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _NotSent(f"{type(exc).__name__}: {exc}") from None
        try:
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Unanswered(f"{type(exc).__name__}: {exc}") from exc
        self._give(conn, response)
        return Answer(response.status, body)

    def _take(self) -> tuple[_Connection, bool]:
        """An idle connection that is still open (and True), or a new one (and False)."""
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return _Connection(self.path, self.timeout), False
            if not conn.dropped():
                return conn, True
            conn.close()

    def _give(self, conn: _Connection, response: http.client.HTTPResponse) -> None:
        if response.will_close:
            conn.close()
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
