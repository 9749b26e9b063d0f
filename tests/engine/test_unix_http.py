"""The kept-alive unix-socket client (``gateways/unix_http``) reads what the real engine answers.

Each answer shape the engine sends is asked for on purpose and checked against what the
engine holds: an inspect big enough to come in chunks, a 204 without a body, an error
status with a JSON message, a kept-alive connection used again, and the event stream (ended
by the engine, or closed from another thread). A connection the engine closed is the scripted
peer's (``tests/unit/test_unix_http_peer.py``): restarting the shared test engine once more
per run left it dead in a loaded CI run (containerd did not come back in time).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlencode

import pytest

from carina_tui.gateways.unix_http import UnixKeepAlive, request_bytes

BIG = "x" * 6000  # an inspect over Go's 2 KB buffer: the engine sends it in chunks


def socket_path(docker_host: str) -> str:
    if not docker_host.startswith("unix://"):
        pytest.skip("the kept-alive client is for unix sockets")
    return docker_host[len("unix://"):]


def raw_head(path: str, target: str) -> bytes:
    """The status line and headers of a GET, read with a bare socket (what the engine sends)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(request_bytes("GET", target))
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            assert more, data
            data += more
    return data.split(b"\r\n\r\n", 1)[0].lower()


@pytest.fixture
def client(docker_host):
    ka = UnixKeepAlive(socket_path(docker_host), 30)
    yield ka
    ka.close()


def idle(ka: UnixKeepAlive) -> list:
    return list(ka._idle.queue)


def test_a_chunked_inspect_is_read_whole_and_the_connection_kept(client, test_engine, scratch, docker_host):
    name = scratch.exited("big", labels={"big": BIG})
    cid = test_engine.ids(f"name=^/{name}$")[0]
    target = f"/containers/{cid}/json"
    assert b"transfer-encoding: chunked" in raw_head(client.path, target)  # the shape this test is about
    answer = client.get(target)
    assert answer.status == 200
    doc = answer.json()
    assert doc["Id"] == cid and doc["Name"] == f"/{name}" and doc["Config"]["Labels"]["big"] == BIG
    assert doc == json.loads(test_engine.docker("inspect", "--type", "container", cid))[0]
    [conn] = idle(client)
    assert client.get(target).json()["Id"] == cid
    assert idle(client) == [conn]  # the same connection answered again: the body was read to its end
    expected = test_engine.docker("version", "--format", "{{.Server.APIVersion}}").strip()
    assert client.api_version == expected


def test_a_removal_answers_204_without_a_body_and_the_connection_carries_on(client, test_engine, scratch):
    name = scratch.exited("gone")
    cid = test_engine.ids(f"name=^/{name}$")[0]
    assert client.get("/_ping").body == b"OK"
    [conn] = idle(client)
    answer = client.request("DELETE", f"/containers/{cid}?v=0&force=0")
    assert answer == (204, b"")
    assert test_engine.ids(f"name=^/{name}$") == []
    assert idle(client) == [conn]
    assert client.get("/_ping").body == b"OK"
    assert idle(client) == [conn]


def test_an_error_status_carries_the_engines_message(client, test_engine, scratch):
    missing = client.get("/containers/carina-no-such-container/json")
    assert missing.status == 404
    assert "No such container: carina-no-such-container" in missing.message
    name = scratch.run("busy")
    cid = test_engine.ids(f"name=^/{name}$")[0]
    refused = client.request("DELETE", f"/containers/{cid}?v=0&force=0")
    assert refused.status == 409 and "running" in refused.message and json.loads(refused.body)["message"]
    assert test_engine.ids(f"name=^/{name}$") == [cid]  # still there: force=0
    assert len(idle(client)) == 1 and client.get("/_ping").body == b"OK"


def test_the_event_stream_reads_events_until_the_engine_ends_it(client, test_engine, scratch):
    since = int(time.time()) - 1
    name = scratch.create("evt")
    until = int(time.time()) + 1
    query = urlencode({"since": since, "until": until, "filters": json.dumps({"container": [name]})})
    stream = client.stream(f"/events?{query}")
    assert stream.status == 200
    events = [json.loads(line) for line in stream.lines()]  # ends: the engine closes the answer at until
    stream.close()
    assert [(e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]) for e in events] == [
        ("container", "create", name)]


def test_closing_the_event_stream_from_another_thread_ends_the_reading(client):
    stream = client.stream("/events")
    assert stream.status == 200
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(stream.lines()), daemon=True)
    reader.start()
    time.sleep(0.3)
    stream.close()
    reader.join(10)
    assert not reader.is_alive() and got == []
