"""The Consul HTTP API test double itself: shapes, indexes, blocking, faults, command line.

Spoken to with urllib only, so these tests do not depend on the gateway.
"""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import carina_tui.sandbox.consul_double as consul_double
from carina_tui.sandbox.consul_double import ConsulDouble, bitseq_bytes, parse_wait


@pytest.fixture
def double():
    d = ConsulDouble().start()
    yield d
    d.stop()


def get(url: str, timeout: float = 10):
    """(status, headers, parsed JSON or text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, resp.headers, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def test_documented_shapes(double):
    double.add_node("carina-n1", "10.0.0.11")
    double.add_node("carina-n2", "10.0.0.12", server=False, status="failed")
    double.set_leader("10.0.0.11:8300")
    double.set_peers(["10.0.0.11:8300"])
    _, _, me = get(double.url + "/v1/agent/self")
    assert {"Config", "Member"} <= set(me)
    assert {"Datacenter", "NodeName", "Server", "Version"} <= set(me["Config"])
    _, _, members = get(double.url + "/v1/agent/members")
    assert [(m["Name"], m["Status"], m["Tags"]["role"]) for m in members] == [
        ("carina-n1", 1, "consul"),
        ("carina-n2", 4, "node"),
    ]
    assert get(double.url + "/v1/status/leader")[2] == "10.0.0.11:8300"
    assert get(double.url + "/v1/status/peers")[2] == ["10.0.0.11:8300"]
    status, headers, nodes = get(double.url + "/v1/catalog/nodes")
    assert status == 200 and int(headers["X-Consul-Index"]) > 0
    assert {"ID", "Node", "Address", "Datacenter", "TaggedAddresses", "CreateIndex", "ModifyIndex"} <= set(nodes[0])
    _, _, checks = get(double.url + "/v1/health/state/any")
    assert {(c["Node"], c["CheckID"], c["Status"]) for c in checks} == {
        ("carina-n1", "serfHealth", "passing"),
        ("carina-n2", "serfHealth", "critical"),
    }
    _, _, critical = get(double.url + "/v1/health/state/critical")
    assert [c["Node"] for c in critical] == ["carina-n2"]


def test_kv_put_list_base64_index_and_404(double):
    double.set_leader("10.0.0.11:8300")
    req = urllib.request.Request(double.url + "/v1/kv/docker/a?flags=42", data=b"\x00value", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read()) is True
    double.put_kv("docker/b/", None)
    status, headers, entries = get(double.url + "/v1/kv/docker/?recurse")
    assert status == 200
    assert [(e["Key"], e["Flags"]) for e in entries] == [("docker/a", 42), ("docker/b/", 0)]
    assert base64.b64decode(entries[0]["Value"]) == b"\x00value"
    assert entries[1]["Value"] is None
    assert int(headers["X-Consul-Index"]) == max(e["ModifyIndex"] for e in entries)
    status, headers, _ = get(double.url + "/v1/kv/nothing/?recurse")
    assert status == 404 and int(headers["X-Consul-Index"]) > 0
    assert get(double.url + "/v1/kv/docker/?keys&separator=/")[2] == ["docker/a", "docker/b/"]


def test_no_leader_fails_consistent_reads_but_not_stale_ones(double):
    double.put_kv("docker/x", "1")
    status, _, body = get(double.url + "/v1/kv/docker/?recurse")
    assert (status, body) == (500, "No cluster leader")
    assert get(double.url + "/v1/kv/docker/?recurse&stale")[0] == 200


def test_blocking_query_waits_for_a_change(double):
    double.set_leader("10.0.0.11:8300")
    double.put_kv("docker/x", "1")
    _, headers, _ = get(double.url + "/v1/kv/docker/?recurse")
    index = int(headers["X-Consul-Index"])
    box = {}
    thread = threading.Thread(
        target=lambda: box.update(r=get(f"{double.url}/v1/kv/docker/?recurse&index={index}&wait=20s")), daemon=True
    )
    thread.start()
    thread.join(0.3)
    assert thread.is_alive()
    double.put_kv("elsewhere/y", "2")  # outside the prefix: still waiting
    thread.join(0.3)
    assert thread.is_alive()
    double.put_kv("docker/x", "2")
    thread.join(10)
    _, headers, entries = box["r"]
    assert int(headers["X-Consul-Index"]) > index
    assert base64.b64decode(entries[0]["Value"]) == b"2"


def test_blocking_query_gives_up_after_the_wait(double):
    double.add_node("n1", "10.0.0.1")
    double.set_leader("10.0.0.1:8300")
    _, headers, _ = get(double.url + "/v1/catalog/nodes")
    index = headers["X-Consul-Index"]
    _, again, _ = get(f"{double.url}/v1/catalog/nodes?index={index}&wait=50ms")
    assert again["X-Consul-Index"] == index


@pytest.mark.parametrize(("mode", "status"), [("forbidden", 403), ("error", 500)])
def test_error_faults(double, mode, status):
    double.fail(mode, paths=["/v1/agent/"])
    assert get(double.url + "/v1/agent/self")[0] == status
    assert get(double.url + "/v1/status/peers")[0] == 200  # other paths unaffected
    double.heal()
    assert get(double.url + "/v1/agent/self")[0] == 200


def test_broken_json_fault(double):
    double.fail("broken_json")
    with urllib.request.urlopen(double.url + "/v1/agent/self", timeout=10) as resp:
        with pytest.raises(json.JSONDecodeError):
            json.loads(resp.read())


def test_drop_and_stop_listening(double):
    double.fail("drop")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(double.url + "/v1/agent/self", timeout=10)
    double.heal()
    port = double.port
    double.stop_listening()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(double.url + "/v1/agent/self", timeout=10)
    double.resume_listening()
    assert double.port == port
    assert get(double.url + "/v1/agent/self")[0] == 200


def test_acl_token(double):
    double.acl_token = "tok"
    assert get(double.url + "/v1/agent/self")[0] == 403
    req = urllib.request.Request(double.url + "/v1/agent/self", headers={"X-Consul-Token": "tok"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def test_unknown_fault_is_refused(double):
    with pytest.raises(ValueError):
        double.fail("explode")


def test_parse_wait():
    assert parse_wait("30s") == 30
    assert parse_wait("1m30s") == 90
    assert parse_wait("250ms") == 0.25
    assert parse_wait("1h") == 600  # capped at 10 minutes, like Consul
    assert parse_wait("soon") == 300


def test_bitseq_bytes_header_and_runs():
    data = bitseq_bytes(64, [0, 63])
    assert data[:16] == (64).to_bytes(8, "big") + (62).to_bytes(8, "big")
    assert data[16:] == bytes.fromhex("80000000" "0000000000000001" "00000001" "0000000000000001")


def test_module_uses_the_standard_library_only():
    tree = ast.parse(Path(consul_double.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported - set(sys.stdlib_module_names)


def test_command_line_serves_the_seeded_cluster():
    proc = subprocess.Popen(
        [sys.executable, "-m", "carina_tui.sandbox.consul_double", "--port", "0", "--bind", "127.0.0.1", "--seed-libnetwork"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Consul HTTP API test double listening on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.rsplit(" ", 1)[1].strip()
        assert len(get(url + "/v1/agent/members")[2]) == 3
        _, _, entries = get(url + "/v1/kv/docker/network/v1.0/network/?recurse")
        names = sorted(json.loads(base64.b64decode(e["Value"]))["name"] for e in entries)
        assert names == ["backend", "frontend"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()
