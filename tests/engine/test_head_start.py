"""The first snapshot's reads sent before the console has imported what asks for them
(``gateways/head_start.py``, ``unix_http.ask_early``), on the real engine: the session handed them
takes those answers instead of asking again, and no other session does; an answer is taken once,
and not when it is too old; a wrong guess or a failed read only means the session asks itself; a
read that timed out is not sent twice.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from carina_tui.core.clusters import ClusterSpec
from carina_tui.gateways import head_start, unix_http
from carina_tui.services.session import Session


@pytest.fixture
def unix_host(docker_host: str) -> str:
    if not docker_host.startswith("unix://"):
        pytest.skip("the head start is for engines on a unix socket")
    return docker_host


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, str]]:
    """Every request that goes out on a unix socket: (thread, path, its request line)."""
    seen: list[tuple[str, str, str]] = []
    send = unix_http._Connection.send

    def noted(self, data: bytes) -> None:
        seen.append((threading.current_thread().name, self._path, data.split(b"\r\n", 1)[0].decode()))
        send(self, data)

    monkeypatch.setattr(unix_http._Connection, "send", noted)
    return seen


def first_snapshot(host: str, early=None):
    session = Session(ClusterSpec("t", "cli", (host,)))
    try:
        session.prefetch(early)
        return session.snapshot()
    finally:
        session.close()


def asked_by_sessions(sent) -> list[str]:
    return [line for thread, _, line in sent if not thread.startswith("carina-head-start")]


def wait_sent_ahead(sent, count: int) -> None:
    deadline = time.monotonic() + 10
    while sum(thread.startswith("carina-head-start") for thread, _, _ in sent) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_session_takes_the_answers_sent_ahead_and_asks_for_none_of_them_again(unix_host, scratch, sent):
    name = scratch.create("ahead")
    early = head_start.begin(unix_host, None)
    assert early is not None
    snapshot = first_snapshot(unix_host, early)

    chain = [line for thread, _, line in sent if thread == "carina-head-start"]
    ahead = [line for thread, _, line in sent if thread.startswith("carina-head-start")]
    asked = asked_by_sessions(sent)
    assert chain == ["GET /info HTTP/1.1", f"GET {head_start.containers_target()} HTTP/1.1"]
    assert {f"GET {head_start.NETWORKS} HTTP/1.1", f"GET {head_start.IMAGES} HTTP/1.1"} <= set(ahead)
    assert not set(ahead) & set(asked), asked  # each went out once
    assert name in {c.name for c in snapshot.containers}
    assert snapshot.containers == first_snapshot(unix_host).containers  # as if the session had asked itself
    assert len(early) == 0  # nothing left waiting


def test_an_answer_sent_ahead_is_not_taken_once_it_is_too_old(unix_host, scratch, sent, monkeypatch):
    monkeypatch.setattr(unix_http, "EARLY_FOR", 0.3)
    early = head_start.begin(unix_host, None)
    wait_sent_ahead(sent, 4)
    time.sleep(0.4)
    later = scratch.create("after-the-head-start")  # not in the answers sent ahead
    snapshot = first_snapshot(unix_host, early)
    assert later in {c.name for c in snapshot.containers}
    assert asked_by_sessions(sent)[0] == "GET /info HTTP/1.1"


def test_answers_sent_ahead_are_only_for_the_session_handed_them(unix_host, scratch, sent):
    """Say the command line failed after sending them (two options that disagree): a session
    opened later in the same process, on the same socket, asks for itself and sees what is new."""
    early = head_start.begin(unix_host, None)
    wait_sent_ahead(sent, 4)
    later = scratch.create("made-since")
    snapshot = first_snapshot(unix_host)  # not handed them
    assert later in {c.name for c in snapshot.containers}
    assert asked_by_sessions(sent)[:2] == ["GET /info HTTP/1.1", f"GET {head_start.containers_target()} HTTP/1.1"]
    early.forget()  # (what the command line does when it ends)
    assert len(early) == 0 and early.take(unix_http.request_bytes("GET", "/info")) is None


def test_a_wrong_guess_or_a_failed_read_leaves_the_session_to_ask_and_say_what_is_wrong(unix_host, tmp_path, sent,
                                                                                        scratch):
    name = scratch.create("guessed-wrong")
    missing = f"unix://{tmp_path}/no-engine.sock"
    early = head_start.begin(missing, None)  # the guess: another socket, which is not there
    snapshot = first_snapshot(unix_host, early)  # (handed answers for another socket: not taken)
    assert snapshot.engines[0].reachable and name in {c.name for c in snapshot.containers}
    failed = first_snapshot(missing, head_start.begin(missing, None))  # failed there: the session's own sentence
    plain = first_snapshot(missing)
    assert not failed.engines[0].reachable and failed.engines[0].error == plain.engines[0].error
    assert "no-engine.sock" in plain.engines[0].error


@pytest.mark.parametrize("host,cluster,environ,sent_ahead", [
    ("unix:///run/x.sock", None, {}, True),
    (None, None, {"DOCKER_HOST": "unix:///run/x.sock"}, True),
    (None, "lab", {"DOCKER_HOST": "unix:///run/x.sock"}, False),  # a cluster of the config: not guessed
    ("tcp://127.0.0.1:2375", None, {}, False),
    ("ssh://engine", None, {}, False),
    ("unix:///run/x.sock", None, {"DOCKER_API_VERSION": "1.41"}, False),  # pinned: other paths
    (None, None, {}, False),
])
def test_only_an_engine_on_a_unix_socket_named_plainly_is_guessed(host, cluster, environ, sent_ahead, monkeypatch):
    started: list[str] = []
    monkeypatch.setattr(unix_http, "ask_early", lambda path, first, then, alongside: started.append(path) or path)
    assert head_start.begin(host, cluster, environ) == ("/run/x.sock" if sent_ahead else None)
    assert started == (["/run/x.sock"] if sent_ahead else [])


def test_a_read_sent_ahead_that_timed_out_is_not_sent_again(tmp_path):
    """An engine that takes the request and never answers (a stand-in socket: the real engine
    cannot be made to hang on demand)."""
    path = str(tmp_path / "mute.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    requests: list[bytes] = []
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            requests.append(conn.recv(4096))

    threading.Thread(target=accept, daemon=True).start()
    try:
        keepalive = unix_http.UnixKeepAlive(path, 0.3)
        keepalive.early = unix_http.ask_early(path, "/info", lambda answer: [], timeout=0.3)
        with pytest.raises(unix_http.Unanswered):
            keepalive.get("/info")
        time.sleep(0.3)
        assert requests == [unix_http.request_bytes("GET", "/info")]
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("argv,begun", [
    (["--host", "unix:///run/x.sock"], ("unix:///run/x.sock", None)),
    (["-H", "unix:///run/x.sock", "--read-only"], ("unix:///run/x.sock", None)),
    (["--host=unix:///run/x.sock", "--config", "c.toml"], ("unix:///run/x.sock", None)),
    (["--cluster", "lab"], (None, "lab")),  # (begin then guesses nothing: a cluster of the config)
    ([], (None, None)),  # DOCKER_HOST, if it names a unix socket
    (["--host", "unix:///run/x.sock", "cleanup"], None),  # a command: not the console
    (["clusters", "--json"], None),
    (["--help"], None),
    (["--version"], None),
])
def test_the_command_line_is_read_for_the_reads_sent_ahead_before_the_parser_is_built(argv, begun, monkeypatch):
    from carina_tui import cli

    calls: list[tuple] = []
    monkeypatch.setattr(head_start, "begin", lambda host, cluster: calls.append((host, cluster)))
    assert cli._reads_ahead(argv) is None  # (what begin returned: here, nothing)
    assert calls == ([begun] if begun else [])
