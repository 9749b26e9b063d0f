"""A Consul HTTP API TEST DOUBLE. It is not Consul and must never be used as one.

No Consul server can be installed where carina-tui is tested, so the tests and
the sandbox (``carina_tui.sandbox``) run this instead: a small standard-library
HTTP server on loopback that answers the few read endpoints carina-tui uses
with the JSON shapes Consul documents, and can be told to misbehave.

Served (GET unless noted):

- ``/v1/agent/self``, ``/v1/agent/members``, ``/v1/status/leader``, ``/v1/status/peers``
- ``/v1/catalog/nodes``, ``/v1/health/state/<state>`` (blocking: ``X-Consul-Index``)
- ``/v1/kv/<key>`` with ``?recurse`` or ``?keys``: base64 values, ``X-Consul-Index``,
  404 when nothing matches; ``PUT /v1/kv/<key>`` (body = value, ``?flags=N``) and
  ``DELETE /v1/kv/<key>[?recurse]`` for seeding.
- Blocking queries: ``?index=N&wait=30s`` holds the answer until the index of the
  query moves past N or the wait (default 5m, at most 10m) runs out.
- Without a leader (``leader == ""``) the catalog, health and KV answer
  500 ``No cluster leader``, as Consul does, unless ``?stale`` is given.

What it can be told to do (``fail()``; ``paths`` limits a fault to some paths):
``forbidden`` (403), ``error`` (500), ``slow`` (answer after ``delay`` seconds),
``broken_json`` (200 with a body that is not JSON), ``drop`` (close the
connection without answering); and ``stop_listening()`` / ``resume_listening()``.
With ``acl_token`` set, a request without that ``X-Consul-Token`` gets 403.

Run it by hand or from the sandbox::

    python -m carina_tui.sandbox.consul_double --port 8500 --bind 127.0.0.1 --seed-libnetwork

Standard library only: no textual, docker, requests or consul imports.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

FAULTS = ("forbidden", "error", "slow", "broken_json", "drop")
MEMBER_CODES = {"none": 0, "alive": 1, "leaving": 2, "left": 3, "failed": 4}
DEFAULT_WAIT = 300.0
MAX_WAIT = 600.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wait(text: str | None) -> float:
    """A Go duration (``30s``, ``5m``, ``1m30s``, ``250ms``) in seconds, capped like Consul."""
    if not text:
        return DEFAULT_WAIT
    found = _DURATION.findall(text)
    if not found or "".join(n + u for n, u in found) != text:
        return DEFAULT_WAIT
    return min(MAX_WAIT, sum(float(n) * _UNITS[u] for n, u in found))


@dataclass(frozen=True)
class SeenRequest:
    """One request the double answered (or refused), for tests to look at."""

    method: str
    path: str
    query: dict
    token: str | None


class _KV:
    __slots__ = ("value", "flags", "create_index", "modify_index", "lock_index", "session")

    def __init__(self, value: bytes | None, flags: int, create_index: int, modify_index: int) -> None:
        self.value = value
        self.flags = flags
        self.create_index = create_index
        self.modify_index = modify_index
        self.lock_index = 0
        self.session = ""

    def as_json(self, key: str) -> dict:
        doc = {
            "LockIndex": self.lock_index,
            "Key": key,
            "Flags": self.flags,
            "Value": None if self.value is None else base64.b64encode(self.value).decode("ascii"),
            "CreateIndex": self.create_index,
            "ModifyIndex": self.modify_index,
        }
        if self.session:
            doc["Session"] = self.session
        return doc


class ConsulDouble:
    """The Consul HTTP API test double. ``start()`` it, point a client at ``url``, ``stop()`` it.

    All state changes go through methods, under one lock, and bump the Raft-like
    index so that waiting blocking queries wake up.
    """

    def __init__(
        self,
        bind: str = "127.0.0.1",
        port: int = 0,
        *,
        node_name: str = "carina-n1",
        datacenter: str = "dc1",
        version: str = "0.6.4",
        server: bool = True,
        address: str = "10.0.0.11",
    ) -> None:
        self.bind = bind
        self._want_port = port
        self._cond = threading.Condition()
        self._wake = threading.Event()  # set on stop: slow and blocked handlers give up
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

        self.acl_token: str | None = None
        self._fault: str | None = None
        self._fault_paths: tuple[str, ...] = ()
        self._fault_delay = 0.0
        self._fault_body = ""
        self.seen: list[SeenRequest] = []

        self._index = 10
        self._tables = {"nodes": 10, "checks": 10, "kvs": 10}
        self._tombstones: dict[str, int] = {}
        self.agent = {
            "node_name": node_name,
            "datacenter": datacenter,
            "version": version,
            "server": server,
            "address": address,
            "node_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, node_name)),
            "revision": "26a0ef8c",
        }
        self._members: list[dict] = []
        self._leader = ""
        self._peers: list[str] = []
        self._nodes: list[dict] = []
        self._checks: list[dict] = []
        self._kv: dict[str, _KV] = {}

    # --- life cycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}"

    def start(self) -> "ConsulDouble":
        self._wake.clear()
        handler = type("Handler", (_Handler,), {"double": self})
        server_class = _Server6 if ":" in self.bind else _Server
        self._httpd = server_class((self.bind, self.port or self._want_port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"consul-double:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the socket (clients then get "connection refused")."""
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    stop_listening = stop

    def resume_listening(self) -> None:
        """Listen again on the same port, with the same state."""
        if self._httpd is None:
            self.start()

    def __enter__(self) -> "ConsulDouble":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults -------------------------------------------------------------------------

    def fail(self, mode: str, *, paths: tuple[str, ...] | list[str] = (), delay: float = 2.0, body: str = "") -> None:
        """Misbehave from now on: one of ``FAULTS``; ``paths`` (prefixes) limits where."""
        if mode not in FAULTS:
            raise ValueError(f"unknown fault {mode!r}; choose one of {', '.join(FAULTS)}")
        with self._cond:
            self._fault = mode
            self._fault_paths = tuple(paths)
            self._fault_delay = delay
            self._fault_body = body

    def heal(self) -> None:
        with self._cond:
            self._fault = None
            self._fault_paths = ()

    def _fault_for(self, path: str) -> tuple[str | None, float, str]:
        with self._cond:
            if self._fault and (not self._fault_paths or any(path.startswith(p) for p in self._fault_paths)):
                return self._fault, self._fault_delay, self._fault_body
            return None, 0.0, ""

    # --- state: agent, members, leader, peers ----------------------------------------------

    def _bump(self, *tables: str) -> int:
        """Advance the index (caller holds the lock) and wake blocked queries."""
        self._index += 1
        for table in tables:
            self._tables[table] = self._index
        self._cond.notify_all()
        return self._index

    def set_agent(self, **fields: object) -> None:
        unknown = set(fields) - set(self.agent)
        if unknown:
            raise ValueError(f"unknown agent fields: {sorted(unknown)}")
        with self._cond:
            self.agent.update(fields)

    def add_node(
        self,
        name: str,
        addr: str,
        *,
        server: bool = True,
        status: str = "alive",
        port: int = 8301,
        with_check: bool = True,
    ) -> None:
        """A member of the gossip pool, its catalog node, and its ``serfHealth`` check."""
        with self._cond:
            self._members = [m for m in self._members if m["Name"] != name]
            tags = {
                "role": "consul" if server else "node",
                "dc": self.agent["datacenter"],
                "build": f"{self.agent['version']}:{self.agent['revision']}",
                "vsn": "2",
                "vsn_min": "1",
                "vsn_max": "3",
            }
            if server:
                tags["port"] = "8300"
            self._members.append(
                {
                    "Name": name,
                    "Addr": addr,
                    "Port": port,
                    "Tags": tags,
                    "Status": MEMBER_CODES[status],
                    "ProtocolMin": 1,
                    "ProtocolMax": 3,
                    "ProtocolCur": 2,
                    "DelegateMin": 2,
                    "DelegateMax": 4,
                    "DelegateCur": 4,
                }
            )
            index = self._bump("nodes", "checks")
            self._nodes = [n for n in self._nodes if n["Node"] != name]
            self._nodes.append(
                {
                    "ID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                    "Node": name,
                    "Address": addr,
                    "Datacenter": self.agent["datacenter"],
                    "TaggedAddresses": {"lan": addr, "wan": addr},
                    "Meta": {},
                    "CreateIndex": index,
                    "ModifyIndex": index,
                }
            )
            if with_check:
                self._checks = [c for c in self._checks if not (c["Node"] == name and c["CheckID"] == "serfHealth")]
                self._checks.append(_serf_check(name, status, index))

    def set_member_status(self, name: str, status: str) -> None:
        """``alive``/``leaving``/``left``/``failed``; the node's ``serfHealth`` follows, as in Consul."""
        with self._cond:
            found = False
            for member in self._members:
                if member["Name"] == name:
                    member["Status"] = MEMBER_CODES[status]
                    found = True
            if not found:
                raise KeyError(name)
            index = self._bump("checks")
            for i, check in enumerate(self._checks):
                if check["Node"] == name and check["CheckID"] == "serfHealth":
                    new = _serf_check(name, status, index)
                    new["CreateIndex"] = check["CreateIndex"]
                    self._checks[i] = new

    def set_members(self, members: list[dict]) -> None:
        """Raw ``/v1/agent/members`` entries, exactly as given."""
        with self._cond:
            self._members = [dict(m) for m in members]

    def set_leader(self, leader: str) -> None:
        """``10.0.0.11:8300``, or ``""`` for no leader (the catalog, health and KV then fail)."""
        with self._cond:
            self._leader = leader
            self._bump()

    def set_peers(self, peers: list[str]) -> None:
        with self._cond:
            self._peers = list(peers)

    # --- state: catalog and health ------------------------------------------------------------

    def set_nodes(self, nodes: list[dict]) -> None:
        with self._cond:
            self._nodes = [dict(n) for n in nodes]
            self._bump("nodes")

    def set_checks(self, checks: list[dict]) -> None:
        with self._cond:
            self._checks = [dict(c) for c in checks]
            self._bump("checks")

    def set_check(
        self,
        node: str,
        check_id: str,
        status: str,
        *,
        name: str = "",
        output: str = "",
        service_id: str = "",
        service_name: str = "",
    ) -> None:
        """Add or change one health check."""
        with self._cond:
            index = self._bump("checks")
            for check in self._checks:
                if check["Node"] == node and check["CheckID"] == check_id:
                    check.update(Status=status, Output=output, ModifyIndex=index)
                    if name:
                        check["Name"] = name
                    return
            self._checks.append(
                {
                    "Node": node,
                    "CheckID": check_id,
                    "Name": name or check_id,
                    "Status": status,
                    "Notes": "",
                    "Output": output,
                    "ServiceID": service_id,
                    "ServiceName": service_name,
                    "ServiceTags": [],
                    "CreateIndex": index,
                    "ModifyIndex": index,
                }
            )

    # --- state: KV ----------------------------------------------------------------------------

    def put_kv(self, key: str, value: bytes | str | None, flags: int = 0) -> int:
        """Set one key (a str is stored as UTF-8); returns the new ModifyIndex."""
        if isinstance(value, str):
            value = value.encode("utf-8")
        with self._cond:
            return self._kv_put_locked(key, value, flags)

    def delete_kv(self, key: str, recurse: bool = False) -> int:
        with self._cond:
            return self._kv_delete_locked(key, recurse)

    def kv_items(self) -> dict[str, bytes | None]:
        with self._cond:
            return {k: v.value for k, v in self._kv.items()}

    def restart_with_index(self, index: int = 1) -> None:
        """Simulate an agent restored from an older snapshot: every index goes back to ``index``."""
        with self._cond:
            self._index = index
            self._tables = {t: index for t in self._tables}
            self._tombstones.clear()
            for entry in self._kv.values():
                entry.create_index = min(entry.create_index, index)
                entry.modify_index = index
            self._cond.notify_all()

    def seed_libnetwork(self, nodes: list[tuple[str, str]] | None = None) -> None:
        """A three-node Carina cluster: members, leader, checks, and libnetwork's KV records."""
        nodes = nodes or [("carina-n1", "10.0.0.11"), ("carina-n2", "10.0.0.12"), ("carina-n3", "10.0.0.13")]
        for name, addr in nodes:
            self.add_node(name, addr, server=True)
        self.set_leader(f"{nodes[0][1]}:8300")
        self.set_peers([f"{addr}:8300" for _, addr in nodes])
        for key, value in sample_libnetwork_kv(engines=[addr for _, addr in nodes]):
            self.put_kv(key, value)

    # --- answers --------------------------------------------------------------------------------

    def _agent_self(self) -> dict:
        a = self.agent
        me = next((m for m in self._members if m["Name"] == a["node_name"]), None)
        if me is None:
            me = {
                "Name": a["node_name"],
                "Addr": a["address"],
                "Port": 8301,
                "Tags": {"role": "consul" if a["server"] else "node", "dc": a["datacenter"]},
                "Status": 1,
            }
        return {
            "Config": {
                "Datacenter": a["datacenter"],
                "NodeName": a["node_name"],
                "NodeID": a["node_id"],
                "Server": a["server"],
                "Bootstrap": False,
                "AdvertiseAddr": a["address"],
                "Revision": a["revision"],
                "Version": a["version"],
                "VersionPrerelease": "",
            },
            "Coord": {"Vec": [0.0] * 8, "Error": 1.5, "Adjustment": 0.0, "Height": 1e-05},
            "Member": me,
            "Stats": {
                "agent": {"checks": str(len(self._checks)), "services": "0"},
                "consul": {
                    "leader": str(self._leader.startswith(a["address"] + ":")).lower(),
                    "known_datacenters": "1",
                    "server": str(a["server"]).lower(),
                },
            },
            "Meta": {},
        }

    def _kv_index(self, prefix: str, recurse: bool) -> int:
        if recurse:
            found = [e.modify_index for k, e in self._kv.items() if k.startswith(prefix)]
            found += [i for k, i in self._tombstones.items() if k.startswith(prefix)]
        else:
            found = [self._kv[prefix].modify_index] if prefix in self._kv else []
            if prefix in self._tombstones:
                found.append(self._tombstones[prefix])
        return max(found) if found else self._tables["kvs"]

    def answer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, object, int | None]:
        """(status, JSON document or text, X-Consul-Index) for one request. Holds no lock."""
        with self._cond:
            return self._answer_locked(method, path, query)

    def _blocking(self, query: dict[str, str], current) -> None:
        """Hold (caller has the lock) while ``current()`` <= index, up to the wait."""
        try:
            wanted = int(query.get("index", "0") or 0)
        except ValueError:
            wanted = 0
        if wanted <= 0:
            return
        deadline = time.monotonic() + parse_wait(query.get("wait"))
        while current() <= wanted and not self._wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(timeout=left)

    def _answer_locked(self, method: str, path: str, query: dict[str, str]) -> tuple[int, object, int | None]:
        needs_leader = path.startswith(("/v1/catalog/", "/v1/health/", "/v1/kv/"))
        if needs_leader and not self._leader and "stale" not in query:
            return 500, "No cluster leader", None

        if method == "GET" and path == "/v1/agent/self":
            return 200, self._agent_self(), None
        if method == "GET" and path == "/v1/agent/members":
            return 200, [dict(m) for m in self._members], None
        if method == "GET" and path == "/v1/status/leader":
            return 200, self._leader, None
        if method == "GET" and path == "/v1/status/peers":
            return 200, list(self._peers), None
        if method == "GET" and path == "/v1/catalog/nodes":
            self._blocking(query, lambda: self._tables["nodes"])
            return 200, [dict(n) for n in self._nodes], self._tables["nodes"]
        if method == "GET" and path.startswith("/v1/health/state/"):
            state = path.rsplit("/", 1)[-1]
            if state not in ("any", "passing", "warning", "critical", "unknown"):
                return 400, f"Invalid state {state!r}", None
            self._blocking(query, lambda: self._tables["checks"])
            checks = [dict(c) for c in self._checks if state == "any" or c["Status"] == state]
            return 200, checks, self._tables["checks"]
        if path.startswith("/v1/kv/"):
            return self._answer_kv(method, unquote(path[len("/v1/kv/") :]), query)
        return 404, f"no handler for {method} {path} in the Consul test double", None

    def _answer_kv(self, method: str, key: str, query: dict[str, str]) -> tuple[int, object, int | None]:
        if method == "PUT":
            try:
                flags = int(query.get("flags", "0") or 0)
            except ValueError:
                return 400, "Invalid flags", None
            value = query.get("__body__")
            self._kv_put_locked(key, value if isinstance(value, bytes) else b"", flags)
            return 200, True, None
        if method == "DELETE":
            self._kv_delete_locked(key, "recurse" in query)
            return 200, True, None
        if method != "GET":
            return 405, "method not allowed", None
        recurse = "recurse" in query or "keys" in query
        self._blocking(query, lambda: self._kv_index(key, recurse))
        index = self._kv_index(key, recurse)
        if recurse:
            matched = sorted(k for k in self._kv if k.startswith(key))
        else:
            matched = [key] if key in self._kv else []
        if not matched:
            return 404, "", index
        if "keys" in query:
            sep = query.get("separator", "")
            keys = []
            for k in matched:
                if sep:
                    cut = k.find(sep, len(key))
                    k = k[: cut + len(sep)] if cut >= 0 else k
                if k not in keys:
                    keys.append(k)
            return 200, keys, index
        return 200, [self._kv[k].as_json(k) for k in matched], index

    def _kv_put_locked(self, key: str, value: bytes | None, flags: int) -> int:
        index = self._bump("kvs")
        old = self._kv.get(key)
        self._kv[key] = _KV(value, flags, old.create_index if old else index, index)
        self._tombstones.pop(key, None)
        return index

    def _kv_delete_locked(self, key: str, recurse: bool) -> int:
        index = self._bump("kvs")
        for k in [k for k in self._kv if (k.startswith(key) if recurse else k == key)]:
            del self._kv[k]
            self._tombstones[k] = index
        return index


def _serf_check(node: str, status: str, index: int) -> dict:
    alive = status == "alive"
    return {
        "Node": node,
        "CheckID": "serfHealth",
        "Name": "Serf Health Status",
        "Status": "passing" if alive else "critical",
        "Notes": "",
        "Output": "Agent alive and reachable" if alive else "Agent not live or unreachable",
        "ServiceID": "",
        "ServiceName": "",
        "ServiceTags": [],
        "CreateIndex": index,
        "ModifyIndex": index,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    double: ConsulDouble
    server_version = "ConsulTestDouble/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection: stopping really stops

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._handle("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        double = self.double
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[0] if v else "" for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        token = self.headers.get("X-Consul-Token") or query.get("token")
        if method == "PUT":
            length = int(self.headers.get("Content-Length") or 0)
            query["__body__"] = self.rfile.read(length) if length else b""
        double.seen.append(SeenRequest(method, path, {k: v for k, v in query.items() if k != "__body__"}, token))

        fault, delay, body = double._fault_for(path)
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "slow":
            if double._wake.wait(timeout=delay):
                self.close_connection = True
                return
        if fault == "forbidden" or (double.acl_token is not None and token != double.acl_token):
            self._send(403, body or "Permission denied", None)
            return
        if fault == "error":
            self._send(500, body or "rpc error: rpc error making call: EOF", None)
            return
        if fault == "broken_json":
            self._send_raw(200, (body or '{"Config": {"Datacenter": "dc1", "NodeName":').encode(), 7)
            return

        status, doc, index = double.answer(method, path, query)
        self._send(status, doc, index)

    def _send(self, status: int, doc: object, index: int | None) -> None:
        if status == 200:
            payload = json.dumps(doc).encode("utf-8")
            self._send_raw(status, payload, index, "application/json")
        else:
            self._send_raw(status, str(doc).encode("utf-8"), index, "text/plain; charset=utf-8")

    def _send_raw(self, status: int, payload: bytes, index: int | None, ctype: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            if index is not None:
                self.send_header("X-Consul-Index", str(index))
                self.send_header("X-Consul-Knownleader", "true" if self.double._leader else "false")
                self.send_header("X-Consul-Lastcontact", "0")
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to do


# --- libnetwork records, as Docker 1.12 wrote them (used by --seed-libnetwork) -------------------


def go_json(doc: object) -> str:
    """JSON the way Go's encoding/json writes a map: sorted keys, no spaces."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def bitseq_bytes(bits: int, used: list[int]) -> bytes:
    """libnetwork's bitseq ``Handle.ToByteArray``: bits, free, then (block u32, count u64) runs."""
    blocks: dict[int, int] = {}
    for pos in sorted(set(used)):
        blocks[pos // 32] = blocks.get(pos // 32, 0) | (1 << (31 - pos % 32))
    total_blocks = (bits + 31) // 32
    runs: list[list[int]] = []
    at = 0
    for idx in sorted(blocks):
        if idx > at:
            runs.append([0, idx - at])
        if runs and runs[-1][0] == blocks[idx]:
            runs[-1][1] += 1
        else:
            runs.append([blocks[idx], 1])
        at = idx + 1
    if at < total_blocks:
        if runs and runs[-1][0] == 0:
            runs[-1][1] += total_blocks - at
        else:
            runs.append([0, total_blocks - at])
    out = struct.pack(">QQ", bits, bits - len(set(used)))
    for block, count in runs:
        out += struct.pack(">IQ", block, count)
    return out


def sample_libnetwork_kv(engines: list[str] | None = None) -> list[tuple[str, bytes]]:
    """Two overlay networks with endpoints, their IPAM pools and bitmasks, and swarm discovery keys."""
    engines = engines or ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
    root = "docker/network/v1.0/"
    out: list[tuple[str, bytes]] = []
    networks = [
        ("3f6b1e0c9a4d5e2f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f", "frontend", "10.0.9.0/24", 256, ["web-1", "web-2"]),
        ("8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d", "backend", "10.0.10.0/24", 257, ["db"]),
    ]
    spaces: dict[str, dict] = {}
    for n, (nid, name, subnet, vni, eps) in enumerate(networks):
        base = subnet.rsplit(".", 1)[0]
        gateway = f"{base}.1"
        pool_id = f"GlobalDefault/{subnet}"
        ipam_data = go_json({"AddressSpace": "GlobalDefault", "Gateway": f"{gateway}/24", "Pool": subnet})
        net = {
            "addrSpace": "GlobalDefault",
            "attachable": False,
            "created": f"2016-07-1{n}T09:30:00.{n}12345678Z",
            "enableIPv6": False,
            "generic": {
                "com.docker.network.enable_ipv6": False,
                "com.docker.network.generic": {},
            },
            "id": nid,
            "inDelete": False,
            "ingress": False,
            "internal": False,
            "ipamOptions": {},
            "ipamType": "default",
            "ipamV4Config": json.dumps(
                [{"PreferredPool": subnet, "SubPool": "", "Gateway": "", "AuxAddresses": None}], separators=(",", ":")
            ),
            "ipamV4Info": go_json([{"IPAMData": ipam_data, "PoolID": pool_id}]),
            "labels": {},
            "name": name,
            "networkType": "overlay",
            "persist": True,
            "postIPv6": False,
            "scope": "global",
        }
        out.append((f"{root}network/{nid}/", go_json(net).encode()))
        used = [0, 1, 255]  # network address, gateway, broadcast
        for e, ep_name in enumerate(eps):
            eid = hashlib.sha256(f"{nid}/{ep_name}".encode()).hexdigest()
            host = 2 + e
            used.append(host)
            ep = {
                "anonymous": False,
                "disableResolution": False,
                "ep_iface": {
                    "addr": f"{base}.{host}/24",
                    "dstPrefix": "",
                    "mac": f"02:42:0a:00:{n + 9:02x}:{host:02x}",
                    "routes": None,
                    "srcName": "",
                    "v4PoolID": pool_id,
                    "v6PoolID": "",
                },
                "exposed_ports": [{"Proto": 6, "Port": 80}] if ep_name.startswith("web") else [],
                "generic": {"com.docker.network.endpoint.exposedports": [], "com.docker.network.portmap": []},
                "id": eid,
                "ingressPorts": None,
                "joinInfo": {"gw": None, "gw6": None, "StaticRoutes": None, "disableGatewayService": False},
                "locator": engines[e % len(engines)],
                "myAliases": [ep_name],
                "name": ep_name,
                "sandbox": hashlib.sha256(f"sandbox/{eid}".encode()).hexdigest(),
                "svcAliases": None,
                "svcID": "",
                "svcName": "",
                "virtualIP": "<nil>",
            }
            out.append((f"{root}endpoint/{nid}/{eid}/", go_json(ep).encode()))
        out.append((f"{root}endpoint_count/{nid}/", go_json({"Count": len(eps)}).encode()))
        out.append((f"{root}ipam/default/data/{pool_id}/", bitseq_bytes(256, used)))
        overlay = {"mtu": 0, "secure": False, "subnets": [{"SubnetIP": subnet, "GwIP": f"{gateway}/24", "Vni": vni}]}
        out.append((f"{root}overlay/network/{nid}/", go_json(overlay).encode()))
        spaces[pool_id] = {
            "ParentKey": {"AddressSpace": "", "Subnet": "", "ChildSubnet": ""},
            "Pool": subnet,
            "RefCount": 1,
        }
    out.append((f"{root}ipam/default/config/GlobalDefault/", go_json({"Scope": "global", "Subnets": spaces}).encode()))
    # VXLAN ids 256.. (vxlanIDStart) up to 2^24-1: two taken.
    out.append((f"{root}idm/vxlan-id/", bitseq_bytes((1 << 24) - 256, [0, 1])))
    for addr in engines:
        out.append((f"docker/swarm/nodes/{addr}:2376", f"{addr}:2376".encode()))
    return out


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m carina_tui.sandbox.consul_double",
        description="Serve the Consul HTTP API TEST DOUBLE (not Consul) until interrupted.",
    )
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--node", default="carina-n1", help="node name the agent reports")
    parser.add_argument("--datacenter", default="dc1")
    parser.add_argument("--client", action="store_true", help="report a client agent, not a server")
    parser.add_argument("--seed-libnetwork", action="store_true", help="start with a 3-node cluster and libnetwork records")
    args = parser.parse_args(argv)

    double = ConsulDouble(args.bind, args.port, node_name=args.node, datacenter=args.datacenter, server=not args.client)
    if args.seed_libnetwork:
        double.seed_libnetwork()
    else:
        double.add_node(args.node, double.agent["address"], server=not args.client)
        double.set_leader(f"{double.agent['address']}:8300")
        double.set_peers([f"{double.agent['address']}:8300"])
    return serve(double, "Consul HTTP API test double", f"{args.bind}:{args.port}")


def serve(double: ConsulDouble, label: str, where: str) -> int:
    """Run ``double`` in the foreground until SIGTERM or SIGINT (for the command lines)."""
    try:
        double.start()
    except OSError as exc:
        print(f"{label}: cannot listen on {where}: {exc.strerror}.", file=sys.stderr)
        return 1
    print(f"{label} listening on {double.url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
