"""Keep-alive HTTP requests over an engine's unix socket: for calls made by the thousand, and
for the reads the console's first frame waits for.

docker-py's unix-socket adapter keys its connection pools by the full URL, so
every call about another container opens a new connection and a new pool:
about 2 ms of CPU per call here, against 0.5 ms on a kept-alive connection.
Bulk removal (cleanup of 1,000 containers: an inspect, then a DELETE, each) needs
the cheaper one to keep up with ``docker rm``. The reads the console starts with
(``GET /info``, the lists) and its event stream (``stream``) go this way too: they
need neither docker-py nor requests, which then load after the first frame. A long
list is decoded one object at a time (``json_array``), so a thread reading 20,000
containers never holds the interpreter for long. Used by ``DockerGateway`` only; no
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
import re
import select
import socket
from typing import Any, Iterator, NamedTuple

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
        self.sock = unix_socket(self._path, self.timeout)

    def dropped(self) -> bool:
        """True when the engine closed this idle connection (it reads as ready: end of stream)."""
        if self.sock is None:
            return True
        try:
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True


def unix_socket(path: str, timeout: float) -> socket.socket:
    """A stream socket connected to ``path`` (OSError when nothing listens there)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


class UnixKeepAlive:
    """A few kept-alive connections to one socket, shared by threads (one per request at a time)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue(IDLE)
        self.api_version = ""  # the engine's API version, as its last answer's Api-Version header said

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
        self.api_version = response.getheader("Api-Version") or self.api_version
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

    def stream(self, target: str) -> "Stream":
        """``GET target`` on a connection of its own, for an answer that does not end (events)."""
        conn = _Connection(self.path, None)
        try:
            conn.request("GET", target)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if isinstance(exc, OSError):
                raise
            raise OSError(f"{type(exc).__name__}: {exc}") from None
        return Stream(conn, response)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class Stream:
    """An answer read line by line as it comes; ``close()``, from any thread, ends the reading."""

    def __init__(self, conn: _Connection, response: http.client.HTTPResponse) -> None:
        self._conn = conn
        self._response = response
        self.status = response.status
        self.closed = False

    def lines(self) -> Iterator[bytes]:
        pending = b""
        while True:
            try:
                chunk = self._response.read1(65536)
            except (OSError, ValueError, AttributeError, http.client.HTTPException) as exc:
                if self.closed:
                    return  # closed by another thread (http.client's state is torn: any of these)
                raise OSError(f"{type(exc).__name__}: {exc}") from None
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line

    def close(self) -> None:
        self.closed = True
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread
            except OSError:
                pass
        self._conn.close()


_BETWEEN = re.compile(r"[\s,]*")
ITEMWISE_OVER = 4 << 20  # bytes


def json_array(body: bytes) -> Iterator[Any]:
    """The items of a JSON array. Over ``ITEMWISE_OVER`` bytes they are decoded one at a time
    (each decode is short: another thread gets the interpreter between two items, where
    ``json.loads`` of 20 MB would hold it for a tenth of a second); below, at once (faster)."""
    if len(body) <= ITEMWISE_OVER:
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError("the engine's answer is not a JSON list")
        yield from items
        return
    text = body.decode("utf-8")
    decode = json.JSONDecoder().raw_decode
    skip = _BETWEEN.match
    pos = skip(text, 0).end()
    if text[pos:pos + 1] != "[":
        raise ValueError("the engine's answer is not a JSON list")
    pos = skip(text, pos + 1).end()
    while pos < len(text) and text[pos] != "]":
        item, pos = decode(text, pos)
        yield item
        pos = skip(text, pos).end()
