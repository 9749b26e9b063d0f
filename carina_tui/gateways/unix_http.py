"""Keep-alive HTTP requests over an engine's unix socket: for calls made by the thousand, and
for the reads the console's first frame waits for.

docker-py's unix-socket adapter keys its connection pools by the full URL, so
every call about another container opens a new connection and a new pool:
about 2 ms of CPU per call here, against 0.5 ms on a kept-alive connection.
Bulk removal (cleanup of 1,000 containers) needs the cheaper one to keep up
with ``docker rm``. The lists the console starts with (``GET /info``,
``/containers/json``, ``/networks``) go this way too: they need neither
docker-py nor requests, which then load after the first frame. A long list is
decoded one object at a time (``json_array``), so a thread reading 20,000
containers never holds the interpreter for long. Used by ``DockerGateway``
only; no docker-py, no Textual.
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
from typing import Any, Callable, Iterator

IDLE = 10  # connections kept open at most (as docker-py's pool)


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


class UnixKeepAlive:
    """A few kept-alive connections to one socket, shared by threads (one per request at a time)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue(IDLE)
        self.api_version = ""  # the engine's API version, as its last answer's Api-Version header said

    def request(self, method: str, target: str) -> tuple[int, str]:
        """``(status, engine message)``; OSError when the engine does not answer."""
        try:
            status, body = self._exchange(method, target, lambda response: response.read())
        except OSError as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from None
        return status, _message(body)

    def get(self, target: str, read: Callable[[bytes], Any] = json.loads) -> tuple[int, Any]:
        """``GET target``: ``(status, read(body))`` when the engine answered 2xx, else
        ``(status, engine message)``. OSError (the original one: FileNotFoundError,
        ConnectionRefusedError, PermissionError...) when it does not answer."""
        status, body = self._exchange("GET", target, lambda response: response.read())
        if 200 <= status < 300:
            return status, read(body)
        return status, _message(body)

    def _exchange(self, method: str, target: str, read: Callable[[http.client.HTTPResponse], Any]) -> tuple[int, Any]:
        """One request on a kept-alive connection (or a new one); ``read`` consumes the response.

        A kept-alive connection the engine closed meanwhile is retried once on a fresh one.
        """
        try:
            conn, fresh = self._idle.get_nowait(), False
        except queue.Empty:
            conn, fresh = _Connection(self.path, self.timeout), True
        while True:
            try:
                conn.request(method, target)
                response = conn.getresponse()
                result = read(response)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if not fresh:
                    conn, fresh = _Connection(self.path, self.timeout), True
                    continue
                if isinstance(exc, OSError):
                    raise
                raise OSError(f"{type(exc).__name__}: {exc}") from None
            break
        self.api_version = response.getheader("Api-Version") or self.api_version
        if response.will_close:
            conn.close()
        else:
            try:
                self._idle.put_nowait(conn)
            except queue.Full:
                conn.close()
        return response.status, result

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


def _message(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return text
    return str(doc.get("message") or text) if isinstance(doc, dict) else text


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
