"""Answers the real engine cannot be made to give on demand, from a scripted peer on a unix socket.

Not a Docker double: the peer knows nothing of the API; it reads each request's head and
writes the next bytes it was given (and closes when told), so the client's reader meets a
truncated answer, a ``Connection: close``, chunk extensions and a trailer, a body lasting
until the close, and an answer dribbled a byte at a time. What the engine does answer is
tested against the engine (``tests/engine/test_unix_http.py``).
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from carina_tui.gateways.unix_http import Unanswered, UnixKeepAlive

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.47\r\n\r\nok"
CLOSE = object()  # after an answer: close the connection
DRIBBLE = object()  # the next answer a byte at a time


class Peer:
    """Answers each request with the next of ``script`` (bytes, each maybe followed by CLOSE)."""

    def __init__(self, path: str, script: list) -> None:
        self.script = list(script)
        self.requests: list[bytes] = []
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, data = data.split(b"\r\n\r\n", 1)
                self.requests.append(head.split(b"\r\n", 1)[0])
                if not self.script:
                    return
                answer = self.script.pop(0)
                if answer is DRIBBLE:
                    answer = self.script.pop(0)
                    for i in range(len(answer)):
                        conn.sendall(answer[i:i + 1])
                        time.sleep(0.001)
                else:
                    conn.sendall(answer)
                if self.script and self.script[0] is CLOSE:
                    self.script.pop(0)
                    return

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def peer(tmp_path):
    made: list[Peer] = []

    def start(*script) -> tuple[Peer, UnixKeepAlive]:
        path = str(tmp_path / f"peer{len(made)}.sock")
        made.append(Peer(path, list(script)))
        return made[-1], UnixKeepAlive(path, 10)

    yield start
    for p in made:
        p.close()


def test_a_body_cut_short_after_the_delete_went_out_is_unanswered_and_not_sent_again(peer):
    p, ka = peer(OK, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"par", CLOSE)
    assert ka.get("/_ping") == (200, b"ok")  # the DELETE then goes on a kept-alive connection
    with pytest.raises(Unanswered):
        ka.request("DELETE", "/containers/abc?v=0&force=0")
    assert p.requests == [b"GET /_ping HTTP/1.1", b"DELETE /containers/abc?v=0&force=0 HTTP/1.1"]
    assert p.connections == 1


@pytest.mark.parametrize("cut", [
    b"",  # closed before a byte of the answer
    b"HTTP/1.1 200 OK\r\nContent-Le",  # in the middle of the headers
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",  # in the middle of a chunk
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",  # before the last chunk
])
def test_any_answer_cut_short_is_unanswered(peer, cut):
    p, ka = peer(cut, CLOSE)
    with pytest.raises(Unanswered):
        ka.request("DELETE", "/containers/abc")
    assert len(p.requests) == 1


def test_a_get_cut_short_on_a_kept_alive_connection_is_asked_once_more_on_a_fresh_one(peer):
    p, ka = peer(OK, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", CLOSE,
                 b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew")
    assert ka.get("/a").body == b"ok"
    assert ka.get("/b") == (200, b"new")
    assert p.requests == [b"GET /a HTTP/1.1", b"GET /b HTTP/1.1", b"GET /b HTTP/1.1"] and p.connections == 2


def test_connection_close_is_honoured(peer):
    p, ka = peer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", CLOSE, OK)
    assert ka.get("/a").body == b"hi"
    assert list(ka._idle.queue) == []
    assert ka.get("/b").body == b"ok"
    assert p.connections == 2 and len(ka._idle.queue) == 1


def test_chunk_extensions_and_a_trailer_are_read_and_the_connection_kept(peer):
    p, ka = peer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n", OK)
    assert ka.get("/a") == (200, b"Wikipedia in\r\n\r\nchunks.")
    assert ka.get("/b") == (200, b"ok")
    assert p.connections == 1


def test_a_body_without_a_length_lasts_until_the_close(peer):
    p, ka = peer(b"HTTP/1.0 200 OK\r\nApi-Version: 1.44\r\n\r\nall of it", CLOSE)
    assert ka.get("/a") == (200, b"all of it")
    assert ka.api_version == "1.44" and list(ka._idle.queue) == []


def test_an_answer_dribbled_a_byte_at_a_time_is_read_the_same(peer):
    body = b'{"message":"No such container: abc"}'
    p, ka = peer(DRIBBLE, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nApi-Version: 1.47\r\n\r\n%s" % (len(body), body),
                 DRIBBLE, b"HTTP/1.1 204 No Content\r\nApi-Version: 1.47\r\n\r\n", OK)
    answer = ka.get("/containers/abc/json")
    assert answer.status == 404 and answer.message == "No such container: abc"
    assert ka.request("DELETE", "/containers/abc") == (204, b"")
    assert ka.get("/_ping") == (200, b"ok")
    assert p.connections == 1 and ka.api_version == "1.47"


def test_bytes_nobody_asked_for_make_the_connection_unusable(peer):
    p, ka = peer(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale", OK)
    assert ka.get("/a").body == b"ok"
    assert ka.get("/b").body == b"ok"  # not the stale answer: a fresh connection was used
    assert p.connections == 2


def test_a_target_that_would_split_the_request_is_not_sent(peer):
    p, ka = peer(OK)
    with pytest.raises(OSError) as caught:
        ka.request("DELETE", "/containers/a HTTP/1.1\r\nX: y")
    assert not isinstance(caught.value, Unanswered) and p.requests == []


def test_a_kept_alive_connection_the_peer_closed_while_idle_is_replaced_before_sending(peer):
    """The engine closed an idle kept-alive connection (a restart, its idle timeout): it is seen
    as dropped before anything is sent, so even a DELETE goes out once, on a fresh connection."""
    p, ka = peer(OK, CLOSE, b"HTTP/1.1 204 No Content\r\n\r\n")
    assert ka.get("/a").body == b"ok"
    [old] = list(ka._idle.queue)
    deadline = time.monotonic() + 5
    while not old.dropped() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert old.dropped()
    assert ka.request("DELETE", "/containers/x") == (204, b"")
    assert p.requests == [b"GET /a HTTP/1.1", b"DELETE /containers/x HTTP/1.1"] and p.connections == 2


def test_a_connection_on_a_file_descriptor_from_1024_up_is_kept(peer):
    """A process with many files open: the kept-alive connection's descriptor is 1024 or more, which
    select() cannot watch (it raised, and every request opened a new connection)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        p, ka = peer(OK, OK, OK)
        assert [ka.get("/_ping") for _ in range(3)] == [(200, b"ok")] * 3
        assert ka._idle.queue[-1].sock.fileno() >= 1024  # the connection kept for the next request
        assert p.connections == 1
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
