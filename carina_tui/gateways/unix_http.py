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
containers never holds the interpreter for long. Used by ``DockerGateway``, and by
``head_start`` for the reads sent before the gateway exists (``ask_early``, ``EarlyAnswers``);
no docker-py, no Textual.

A request is sent again only when it cannot have reached the engine: a kept-alive
connection the engine closed is noticed before sending (it reads as closed) or when
sending fails. Once a request's bytes are out, a failure to read the answer is
``Unanswered``: a DELETE may have been carried out, and sending it again would only
blur what happened (the caller looks instead). Only a GET, which changes nothing,
is then tried once more on a fresh connection.

The answers are read here, not by ``http.client``: its header parsing goes through the
``email`` package and a new file object per answer, which is most of the client's CPU
when a cleanup makes 2,000 requests. This reader knows what the engine sends (HTTP/1.1:
a status line, headers, then a body sized by ``Content-Length``, sent in chunks, or
lasting until the engine closes the connection) and nothing more.
"""

from __future__ import annotations

import json
import queue
import re
import select
import socket
import threading
import time
from typing import Any, Callable, Iterator, NamedTuple

IDLE = 10  # connections kept open at most (as docker-py's pool)
DEFAULT_TIMEOUT = 20  # seconds a read from the engine may take (``DockerGateway``'s)
_READ = 65536  # bytes asked of the socket at once
_HEAD_MAX = 65536  # an answer's status line and headers, at most
_NO_BODY = frozenset({204, 304})
_UNSAFE_TARGET = re.compile(r"[\x00-\x20\x7f]")


class Unanswered(OSError):
    """The request was sent but no whole answer came back: it may or may not have taken effect."""


class _NotSent(OSError):
    """The request could not be sent: the engine cannot have acted on it."""


class _BadAnswer(OSError):
    """What came back is not an HTTP answer this reader understands (or it stopped in the middle)."""


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


class _Head(NamedTuple):
    """An answer's status line and the headers this reader uses."""

    status: int
    length: int | None  # Content-Length; None when not given
    chunked: bool
    will_close: bool  # the engine closes the connection after this answer
    api_version: str


def request_bytes(method: str, target: str) -> bytes:
    """The bytes of a request without a body (what ``http.client`` sent for one: Host, Accept-Encoding)."""
    if _UNSAFE_TARGET.search(target) or not method.isalpha():
        raise ValueError(f"not a request that can be sent: {method} {target!r}")
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\n\r\n".encode("ascii")


class _Connection:
    """One connection to the engine's socket and what has been read from it and not used yet."""

    def __init__(self, path: str, timeout: float | None) -> None:
        self._path = path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._buf = bytearray()

    def send(self, data: bytes) -> None:
        if self.sock is None:
            self.sock = unix_socket(self._path, self.timeout)
        self.sock.sendall(data)

    def dropped(self) -> bool:
        """True when this idle connection cannot carry another request: the engine closed it (it
        reads as ready: end of stream), or sent bytes nobody asked for."""
        if self.sock is None or self._buf:
            return True
        try:  # poll, not select: select fails for a file descriptor from 1024 up
            poller = select.poll()
            poller.register(self.sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._buf.clear()
        if sock is not None:
            sock.close()

    def _fill(self) -> bool:
        """Read what the engine sent next into the buffer; False at the end of the stream."""
        sock = self.sock
        if sock is None:
            raise _BadAnswer("the connection was closed")
        data = sock.recv(_READ)
        if not data:
            return False
        self._buf += data
        return True

    def _more(self, what: str) -> None:
        if not self._fill():
            raise _BadAnswer(f"the engine closed the connection in the middle of {what}")

    def head(self, method: str) -> _Head:
        """Read the status line and headers (a ``100 Continue`` before the answer is passed over)."""
        while True:
            buf = self._buf
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                if len(buf) > _HEAD_MAX:
                    raise _BadAnswer("the answer's headers are too long")
                if not self._fill():
                    raise _BadAnswer("the engine closed the connection without an answer" if not buf
                                     else "the engine closed the connection in the middle of the headers")
                end = buf.find(b"\r\n\r\n")
            lines = bytes(buf[:end]).split(b"\r\n")
            del buf[:end + 4]
            version, _, rest = lines[0].partition(b" ")
            code = rest[:3]
            if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
                raise _BadAnswer(f"not an HTTP answer: {lines[0][:80]!r}")
            status = int(code)
            if 100 <= status < 200 and status != 101:
                continue
            length: int | None = None
            chunked = False
            connection = b""
            api_version = ""
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                if not colon:
                    raise _BadAnswer(f"not an HTTP header: {line[:80]!r}")
                name = name.strip().lower()
                value = value.strip()
                if name == b"content-length":
                    if not value.isdigit() or (length is not None and length != int(value)):
                        raise _BadAnswer(f"a Content-Length that is not one number: {value[:40]!r}")
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = value.lower().endswith(b"chunked")
                elif name == b"connection":
                    connection = value.lower()
                elif name == b"api-version":
                    api_version = value.decode("latin-1")
            if chunked:
                length = None
            if method == "HEAD" or status in _NO_BODY:
                length, chunked = 0, False
            will_close = (b"close" in connection or (version == b"HTTP/1.0" and b"keep-alive" not in connection)
                          or (length is None and not chunked))
            return _Head(status, length, chunked, will_close, api_version)

    def body(self, head: _Head) -> bytes:
        """The whole body of the answer ``head`` began."""
        return b"".join(self.pieces(head))

    def _line(self, what: str) -> bytes:
        """The next line (without its CRLF); ``_BadAnswer`` (naming ``what``) when it is too long or cut."""
        buf = self._buf
        end = buf.find(b"\r\n")
        while end < 0:
            if len(buf) > _HEAD_MAX:
                raise _BadAnswer(f"{what} is too long")
            self._more(what)
            end = buf.find(b"\r\n")
        line = bytes(buf[:end])
        del buf[:end + 2]
        return line

    def _exactly(self, size: int, what: str) -> Iterator[bytes]:
        """The next ``size`` bytes, as they come; ``_BadAnswer`` (naming ``what``) when they stop short."""
        buf = self._buf
        while size:
            if not buf:
                self._more(what)
            piece = bytes(buf[:size])
            del buf[:len(piece)]
            size -= len(piece)
            yield piece

    def pieces(self, head: _Head) -> Iterator[bytes]:
        """The body as it comes (a chunked one decoded); ``_BadAnswer`` when it stops short."""
        buf = self._buf
        if head.length is not None:
            yield from self._exactly(head.length, "the answer's body")
            return
        if not head.chunked:  # until the engine closes the connection
            while True:
                if buf:
                    piece = bytes(buf)
                    buf.clear()
                    yield piece
                if not self._fill():
                    return
        while True:
            text = self._line("a chunk's size line").split(b";", 1)[0].strip()
            try:
                size = int(text, 16)
            except ValueError:
                raise _BadAnswer(f"not a chunk size: {text[:40]!r}") from None
            if size < 0:
                raise _BadAnswer(f"not a chunk size: {text[:40]!r}")
            if size == 0:
                while self._line("the chunked body's trailer"):  # header lines up to an empty one
                    pass
                return
            yield from self._exactly(size, "a chunk")
            while len(buf) < 2:
                self._more("a chunk")
            if buf[:2] != b"\r\n":
                raise _BadAnswer("a chunk does not end where its size says")
            del buf[:2]


def unix_socket(path: str, timeout: float | None) -> socket.socket:
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
        self.early: EarlyAnswers | None = None  # answers to GETs sent before this existed (``ask_early``)
        self.api_version = ""  # the engine's API version, as its last answer's Api-Version header said

    def get(self, target: str) -> Answer:
        """A GET (changes nothing, so it may be tried again on a fresh connection)."""
        return self._send("GET", target)

    def request(self, method: str, target: str) -> Answer:
        """Any request. OSError when it could not be sent; ``Unanswered`` when it was sent
        and no answer came back (never sent twice)."""
        return self._send(method, target)

    def _send(self, method: str, target: str) -> Answer:
        try:
            data = request_bytes(method, target)
        except ValueError as exc:
            raise _NotSent(str(exc)) from None
        if method == "GET" and self.early is not None and self.early.path == self.path:
            early = self.early.take(data)
            if early is not None:
                try:
                    # (it ends by itself: its connection has this one's timeout, ``DEFAULT_TIMEOUT``)
                    answer, version = early.result()
                except TimeoutError as exc:
                    raise Unanswered(f"{type(exc).__name__}: {exc}") from exc  # as when sent from here
                except Exception:  # noqa: BLE001 - not answered early: asked again, now, as any request
                    pass
                else:
                    self.api_version = version or self.api_version
                    return answer
        conn, reused = self._take()
        try:
            return self._exchange(conn, method, data)
        except _NotSent:
            if not reused:
                raise
            # The engine closed the kept-alive connection: the request did not go out. Once more, fresh.
        except Unanswered as exc:
            if not (reused and method == "GET" and not isinstance(exc.__cause__, TimeoutError)):
                raise
        return self._exchange(_Connection(self.path, self.timeout), method, data)

    def _exchange(self, conn: _Connection, method: str, data: bytes) -> Answer:
        try:
            conn.send(data)
        except OSError as exc:
            conn.close()
            raise _NotSent(f"{type(exc).__name__}: {exc}") from None
        try:
            head = conn.head(method)
            body = conn.body(head)
        except OSError as exc:
            conn.close()
            raise Unanswered(f"{type(exc).__name__}: {exc}") from exc
        self.api_version = head.api_version or self.api_version
        self._give(conn, head)
        return Answer(head.status, body)

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

    def _give(self, conn: _Connection, head: _Head) -> None:
        if head.will_close:
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
            conn.send(request_bytes("GET", target))
            head = conn.head("GET")
        except (OSError, ValueError) as exc:
            conn.close()
            if isinstance(exc, OSError) and not isinstance(exc, _BadAnswer):
                raise
            raise OSError(f"{type(exc).__name__}: {exc}") from None
        return Stream(conn, head)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


# -- answers asked for early -------------------------------------------------------------------
# The console's first reads go out before the modules that ask for them are imported (``head_start``).
# Their answers wait in an ``EarlyAnswers``, handed to the session that opens the console
# (``Session.prefetch``): its connections to that socket take them, once each, instead of asking.

EARLY_FOR = 5.0  # seconds an early answer may be taken; after that it is asked for again


class Pending:
    """An answer on its way: ``concurrent.futures.Future``'s three calls, without its import (and
    ``logging``'s), which would delay the head start by some milliseconds."""

    __slots__ = ("_done", "_value", "_error")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def set_result(self, value: Any) -> None:
        self._value = value
        self._done.set()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


class EarlyAnswers:
    """The answers to GETs sent to ``path`` before anyone asked (``ask_early``), each to be taken
    once, within ``EARLY_FOR`` seconds, by a ``UnixKeepAlive`` on ``path`` given them (``early``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._until = time.monotonic() + EARLY_FOR
        self._pending: dict[bytes, Pending] = {}
        self._lock = threading.Lock()

    def register(self, target: str) -> Pending:
        pending = Pending()
        with self._lock:
            self._pending[request_bytes("GET", target)] = pending
        return pending

    def take(self, data: bytes) -> Pending | None:
        """The answer to the request ``data``, if it was sent early and is not too old (once)."""
        with self._lock:
            pending = self._pending.pop(data, None)
        return pending if time.monotonic() < self._until else None

    def forget(self) -> None:
        """Drop what nobody took (a long list is large); nothing is taken from here after this."""
        with self._lock:
            self._pending.clear()
            self._until = 0.0

    def __len__(self) -> int:
        return len(self._pending)


def ask_early(path: str, first: str, then: Callable[[Answer], list[str]], alongside: tuple[str, ...] = (),
              timeout: float = DEFAULT_TIMEOUT) -> EarlyAnswers:
    """On ``path``: ``GET first``, then each target ``then(its answer)`` names, in turn, on one
    connection; each of ``alongside`` (needing no answer first) at the same time, on another. The
    answers go to the ``EarlyAnswers`` returned, where a ``UnixKeepAlive`` given it finds them (and
    waits for one on its way). What goes wrong here only means the GET is sent again, as any other
    (but one that timed out: ``UnixKeepAlive._send``)."""
    answers = EarlyAnswers(path)
    opener = answers.register(first)
    beside = {t: answers.register(t) for t in alongside if t != first}

    def chain() -> None:
        conn = _Connection(path, timeout)
        try:
            answer = _early_exchange(conn, first)
        except BaseException as exc:  # noqa: BLE001 - the GET is sent again by whoever asks
            opener.set_exception(exc)
            conn.close()
            return
        try:
            follow = [t for t in then(answer[0]) if t != first and t not in beside]
        except Exception:  # noqa: BLE001 - an answer not understood here: nothing more early
            follow = []
        pending = {t: answers.register(t) for t in follow}
        opener.set_result(answer)  # (after the next ones are known: no GET of them crosses)
        _answer_in_turn(conn, pending)

    threading.Thread(target=chain, name="carina-head-start", daemon=True).start()
    if beside:
        threading.Thread(target=_answer_in_turn, args=(_Connection(path, timeout), beside),
                         name="carina-head-start-2", daemon=True).start()
    return answers


def _answer_in_turn(conn: _Connection, pending: dict[str, Pending]) -> None:
    """Each of ``pending``'s targets in turn on ``conn``; when one fails, it and those after it fail."""
    try:
        for target in list(pending):
            answer = _early_exchange(conn, target)
            pending.pop(target).set_result(answer)
    except BaseException as exc:  # noqa: BLE001 - each waiting GET is sent again
        for waiting in pending.values():
            waiting.set_exception(exc)
    finally:
        conn.close()


def _early_exchange(conn: _Connection, target: str) -> tuple[Answer, str]:
    conn.send(request_bytes("GET", target))
    head = conn.head("GET")
    body = conn.body(head)
    if head.will_close:
        conn.close()  # (the next one goes on a new connection)
    return Answer(head.status, body), head.api_version


class Stream:
    """An answer read line by line as it comes; ``close()``, from any thread, ends the reading."""

    def __init__(self, conn: _Connection, head: _Head) -> None:
        self._conn = conn
        self._head = head
        self.status = head.status
        self.closed = False

    def lines(self) -> Iterator[bytes]:
        pending = b""
        pieces = self._conn.pieces(self._head)
        while True:
            try:
                chunk = next(pieces, b"")
            except (OSError, ValueError, AttributeError) as exc:
                if self.closed:
                    return  # closed by another thread
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
            sock.close()


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
