"""The Consul gateway: the only module that imports py-consul (``consul``) and ``requests``.

It turns Consul's answers into our frozen dataclasses (``core.consul_models``)
and every failure into a ``ConsulProblem`` whose sentence says what failed and
what to do, names the address, and never contains the ACL token.

Every call blocks; run them in a thread worker. Each thread gets its own
py-consul client (its own ``requests`` session), so one gateway can serve
several workers. Blocking queries: pass ``index`` and ``wait`` to ``nodes``,
``checks`` or ``kv``, or let a ``Watch`` loop on them for you::

    watch = gateway.watch_checks(wait="30s")
    while not stop.is_set():
        change = watch.next(stop)          # returns only when the checks changed
        if change is not None:
            post_message(ChecksChanged(*change))

py-consul 1.8.0 notes: ``kv.get(..., connections_timeout=...)`` raises
``TypeError``, so the timeout is set once on the client (py-consul adds the
query's wait to it for blocking queries); the agent and status endpoints do not
send the token, so we call them through py-consul's HTTP client with the token
header; and ``CONSUL_HTTP_TOKEN`` would override the token we pass, so we set it
on the client after construction.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import threading
import weakref
import time
from typing import Any, Callable, Generic, TypeVar
from urllib.parse import urlsplit

import consul
import requests
import requests.adapters
from consul.callback import CB

from carina_tui.core.consul_models import (
    AgentSelf,
    CatalogNode,
    ConsulMember,
    ConsulSnapshot,
    HealthCheck,
    KVEntry,
    member_status_word,
)
from carina_tui.core.errors import ConsulProblem
from carina_tui.core.models import pairs

DEFAULT_PORT = 8500
DEFAULT_TLS_PORT = 8501
TOKEN_HINT = "set CONSUL_HTTP_TOKEN or consul_token in the cluster's config"
AGENT_HINT = "check the agent with `docker logs carina-svcd`"
_WAIT_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")

T = TypeVar("T")


class _AbortableAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter that remembers the sockets it opens, so that ``abort()`` (from another
    thread) ends a request blocked on one of them at once: a blocking query holds its
    connection for the whole wait, and nothing else can interrupt it."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet = weakref.WeakSet()
        self._sockets_lock = threading.Lock()
        self.aborted = False
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        manager = self.poolmanager
        manager.pool_classes_by_scheme = {
            scheme: self._tracking_pool(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
        }

    def _tracking_pool(self, pool_cls):
        adapter = self

        class Connection(pool_cls.ConnectionCls):
            def connect(self) -> None:
                super().connect()
                with adapter._sockets_lock:
                    adapter._sockets.add(self.sock)
                    aborted = adapter.aborted
                if aborted:
                    self.sock.shutdown(socket.SHUT_RDWR)

        return type(f"Abortable{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": Connection})

    def abort(self) -> None:
        with self._sockets_lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed



def problem(sentence: str, reason: str) -> ConsulProblem:
    """A ``ConsulProblem`` with ``reason`` (unreachable, closed, timeout, denied,
    server-error, not-found, not-json, rejected, bad-address) for workers to branch on."""
    err = ConsulProblem(sentence)
    err.reason = reason  # type: ignore[attr-defined]
    return err


def parse_address(address: str) -> tuple[str, str, int]:
    """``http://host:8500``, ``host:8500``, ``host`` or ``https://host`` -> (scheme, host, port)."""
    text = (address or "").strip()
    if not text:
        raise problem("No Consul address is set: put consul = \"http://host:8500\" in the cluster's config.", "bad-address")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.username or parts.password:
        raise problem(
            "The Consul address carries a user name or password: remove it, and give the ACL token "
            "through CONSUL_HTTP_TOKEN or consul_token in the cluster's config.",
            "bad-address",
        )
    shown = address.strip()
    if parts.scheme not in ("http", "https"):
        raise problem(f"The Consul address {shown!r} is not valid: write it as http://host:8500.", "bad-address")
    try:
        port = parts.port
    except ValueError:
        raise problem(f"The Consul address {shown!r} has an invalid port: write it as http://host:8500.", "bad-address") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise problem(f"The Consul address {shown!r} is not valid: write it as http://host:8500.", "bad-address")
    if port is None:
        port = DEFAULT_TLS_PORT if parts.scheme == "https" else DEFAULT_PORT
    return parts.scheme, parts.hostname, port


def _check_wait(wait: str | None) -> str | None:
    if wait is None:
        return None
    if not _WAIT_RE.match(wait):
        raise ValueError(f"wait must be a Go duration such as '30s' or '5m', not {wait!r}")
    return wait


# --- JSON -> dataclasses -------------------------------------------------------------------


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def parse_agent_self(doc: dict) -> AgentSelf:
    config = doc.get("Config") or {}
    member = doc.get("Member") or {}
    debug = doc.get("DebugConfig") or {}
    version = _str(config.get("Version"))
    if config.get("VersionPrerelease"):
        version = f"{version}-{config['VersionPrerelease']}"
    return AgentSelf(
        node_name=_str(config.get("NodeName") or member.get("Name")),
        datacenter=_str(config.get("Datacenter")),
        version=version,
        server=bool(config.get("Server")),
        address=_str(config.get("AdvertiseAddr") or debug.get("AdvertiseAddrLAN") or member.get("Addr")),
        revision=_str(config.get("Revision")),
        node_id=_str(config.get("NodeID")),
    )


def parse_member(doc: dict) -> ConsulMember:
    tags = doc.get("Tags") or {}
    code = doc.get("Status")
    role = {"consul": "server", "node": "client"}.get(_str(tags.get("role")), _str(tags.get("role")))
    return ConsulMember(
        name=_str(doc.get("Name")),
        addr=_str(doc.get("Addr")),
        port=int(doc.get("Port") or 0),
        status=member_status_word(code),
        status_code=code if isinstance(code, int) and not isinstance(code, bool) else -1,
        role=role,
        datacenter=_str(tags.get("dc")),
        version=_str(tags.get("build")).split(":", 1)[0],
        tags=pairs(tags),
    )


def parse_node(doc: dict) -> CatalogNode:
    return CatalogNode(
        node=_str(doc.get("Node")),
        address=_str(doc.get("Address")),
        datacenter=_str(doc.get("Datacenter")),
        id=_str(doc.get("ID")),
    )


def parse_check(doc: dict) -> HealthCheck:
    return HealthCheck(
        node=_str(doc.get("Node")),
        check_id=_str(doc.get("CheckID")),
        name=_str(doc.get("Name")),
        status=_str(doc.get("Status")),
        output=_str(doc.get("Output")),
        service_id=_str(doc.get("ServiceID")),
        service_name=_str(doc.get("ServiceName")),
        notes=_str(doc.get("Notes")),
    )


def parse_kv(doc: dict) -> KVEntry:
    value = doc.get("Value")
    if isinstance(value, str):  # py-consul leaves it alone when it is not base64-decoded
        value = value.encode("utf-8")
    return KVEntry(
        key=_str(doc.get("Key")),
        modify_index=int(doc.get("ModifyIndex") or 0),
        value=value,
        flags=int(doc.get("Flags") or 0),
        create_index=int(doc.get("CreateIndex") or 0),
        lock_index=int(doc.get("LockIndex") or 0),
        session=_str(doc.get("Session")),
    )


def _parse_index(raw: Any) -> int:
    return int(str(raw).strip())


# --- the gateway ---------------------------------------------------------------------------


class ConsulGateway:
    """One Consul agent's HTTP API. Every method blocks and returns our dataclasses."""

    def __init__(self, address: str, token: str | None = None, timeout: float = 5.0) -> None:
        self.scheme, self.host, self.port = parse_address(address)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.address = f"{self.scheme}://{host}:{self.port}"
        self.timeout = float(timeout)
        self._token = token or os.environ.get("CONSUL_HTTP_TOKEN") or None
        self._local = threading.local()
        self._clients: list[consul.Consul] = []
        self._lock = threading.Lock()
        self._aborted = False

    def __repr__(self) -> str:  # never the token
        return f"ConsulGateway({self.address!r}, token={'set' if self._token else 'none'}, timeout={self.timeout:g})"

    @property
    def has_token(self) -> bool:
        return self._token is not None

    # -- plumbing --

    def _client(self) -> consul.Consul:
        client = getattr(self._local, "client", None)
        if client is None:
            if self._aborted:
                raise problem(f"The requests to Consul at {self.address} were stopped.", "closed")
            client = consul.Consul(
                host=self.host,
                port=self.port,
                scheme=self.scheme,
                token=self._token,
                connections_timeout=self.timeout,
            )
            client.token = self._token  # py-consul prefers CONSUL_HTTP_TOKEN over the argument
            adapter = _AbortableAdapter()
            client.http.session.mount("http://", adapter)
            client.http.session.mount("https://", adapter)
            self._local.client = client
            with self._lock:
                if self._aborted:
                    raise problem(f"The requests to Consul at {self.address} were stopped.", "closed")
                self._clients.append(client)
        return client

    def abort(self) -> None:
        """End every request in flight now, from any thread (they fail as "closed"); then close."""
        with self._lock:
            self._aborted = True
            clients = list(self._clients)
        for client in clients:
            for adapter in set(client.http.session.adapters.values()):
                if isinstance(adapter, _AbortableAdapter):
                    adapter.abort()
        self.close()

    def close(self) -> None:
        """Close the HTTP sessions of every thread's client."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.http.session.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._local = threading.local()

    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return text

    def _detail(self, body: str) -> str:
        """The first line of an error body, short and without the token."""
        lines = self._scrub(_str(body)).strip().splitlines()
        line = lines[0].strip() if lines else ""
        return line if len(line) <= 120 else line[:119] + "…"

    def _call(self, what: str, fn: Callable[[consul.Consul], T]) -> T:
        """Run one py-consul call; turn every failure into a ConsulProblem sentence."""
        at = f"Consul at {self.address}"
        try:
            return fn(self._client())
        except ConsulProblem:
            raise
        except consul.ACLPermissionDenied:
            if self._token:
                hint = f"use an ACL token that may read it ({TOKEN_HINT})"
            else:
                hint = f"no ACL token is set: {TOKEN_HINT}"
            raise problem(f"{at} refused the request for {what}: permission denied (HTTP 403); {hint}.", "denied") from None
        except consul.ACLDisabled:
            raise problem(f"{at} refused the request for {what} (HTTP 401): check the ACL token ({TOKEN_HINT}).", "denied") from None
        except consul.NotFound:
            raise problem(
                f"{at} does not know the request for {what} (HTTP 404): check that the address points at a Consul agent's HTTP API.",
                "not-found",
            ) from None
        except consul.Timeout:
            raise problem(f"{at} timed out on the request for {what}: {AGENT_HINT} and try again.", "timeout") from None
        except consul.ConsulException as exc:
            raise self._from_consul_exception(what, str(exc)) from None
        except requests.exceptions.ConnectTimeout:
            raise problem(
                f"Could not connect to {at} within {self.timeout:g} s while asking for {what}: check the address "
                "and that no firewall drops the connection.",
                "timeout",
            ) from None
        except requests.exceptions.Timeout:
            raise problem(
                f"{at} did not answer the request for {what} within {self.timeout:g} s: the agent may be overloaded or hung; "
                f"{AGENT_HINT}, or raise the timeout.",
                "timeout",
            ) from None
        except requests.exceptions.SSLError:
            raise problem(
                f"The TLS handshake with {at} failed while asking for {what}: check the address's scheme (http or https) "
                "and the certificates.",
                "unreachable",
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise self._from_connection_error(what, exc) from None
        except requests.exceptions.RequestException as exc:
            raise problem(
                f"The request to {at} for {what} failed ({type(exc).__name__}): check the address and try again.",
                "unreachable",
            ) from None
        except OSError as exc:
            # requests raises a bare OSError for TLS files it cannot find (an https:// address).
            raise problem(
                f"The request to {at} for {what} failed ({exc.strerror or exc}): check the address and the "
                "TLS settings.",
                "unreachable",
            ) from None
        except (AttributeError, TypeError, ValueError, KeyError, IndexError):
            # py-consul or our parser met JSON of the wrong shape (or bad base64).
            raise problem(
                f"{at} answered the request for {what} with data that is not what Consul sends: check that the address "
                "points at a Consul agent's HTTP API.",
                "not-json",
            ) from None

    def _from_consul_exception(self, what: str, text: str) -> ConsulProblem:
        at = f"Consul at {self.address}"
        if text.startswith("Failed to decode JSON"):
            return problem(
                f"{at} answered the request for {what} with something that is not JSON: check that the address points at "
                "Consul's HTTP API (port 8500) and not at another service.",
                "not-json",
            )
        if text.startswith("Missing index header"):
            return problem(
                f"{at} answered the request for {what} without an X-Consul-Index header: check that the address points at "
                "Consul's HTTP API and not at a proxy that drops headers.",
                "not-json",
            )
        code, _, body = text.partition(" ")
        if code.isdigit() and code.startswith("5"):
            detail = self._detail(body)
            if "no cluster leader" in body.lower():
                advice = "the cluster has no leader: start the stopped Consul agents so that the servers can elect one"
            else:
                advice = f"{AGENT_HINT} and try again"
            shown = f": {detail}" if detail else ""
            return problem(f"{at} failed the request for {what} (HTTP {code}{shown}); {advice}.", "server-error")
        if code.isdigit():
            detail = self._detail(body)
            shown = f": {detail}" if detail else ""
            return problem(
                f"{at} rejected the request for {what} (HTTP {code}{shown}): this Consul version may not support it.",
                "rejected",
            )
        return problem(f"{at} failed the request for {what} ({self._detail(text)}); {AGENT_HINT} and try again.", "server-error")

    def _from_connection_error(self, what: str, exc: BaseException) -> ConsulProblem:
        at = f"Consul at {self.address}"
        text = str(exc)
        chain = []
        cur: BaseException | None = exc
        while cur is not None and len(chain) < 10:
            chain.append(cur)
            cur = cur.__cause__ or cur.__context__
        refused = any(isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED for e in chain)
        if refused or "Connection refused" in text or "[Errno 111]" in text:
            return problem(
                f"Cannot reach {at}: the connection was refused while asking for {what}. Start the node's "
                "Consul agent (`s` on carina-svcd) or check the address.",
                "unreachable",
            )
        if "RemoteDisconnected" in text or "Connection aborted" in text or "closed connection without response" in text:
            return problem(
                f"{at} closed the connection without answering the request for {what}: the agent may be restarting or "
                f"crashing; {AGENT_HINT} and try again.",
                "closed",
            )
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename nor servname" in text:
            return problem(
                f"Cannot reach {at}: the host name does not resolve. Check the consul address in the cluster's config.",
                "unreachable",
            )
        if "Connection reset" in text:
            return problem(
                f"{at} reset the connection during the request for {what}: {AGENT_HINT} and try again.", "closed"
            )
        return problem(
            f"Cannot reach {at} while asking for {what}: check that the agent runs and that the address is right.",
            "unreachable",
        )

    def _get(self, client: consul.Consul, path: str, params: list | None = None, index: bool = False) -> Any:
        """GET through py-consul's HTTP client, with the token header the agent/status API omits."""
        return client.http.get(CB.json(index=index), path, params=params or None, headers=client.prepare_headers())

    # -- single queries --

    def agent_self(self) -> AgentSelf:
        def run(c: consul.Consul) -> AgentSelf:
            doc = self._get(c, "/v1/agent/self")
            if not isinstance(doc, dict):
                raise TypeError("agent/self is not an object")
            return parse_agent_self(doc)

        return self._call("agent information (/v1/agent/self)", run)

    def members(self) -> tuple[ConsulMember, ...]:
        def run(c: consul.Consul) -> tuple[ConsulMember, ...]:
            doc = self._get(c, "/v1/agent/members")
            return tuple(sorted((parse_member(m) for m in doc or ()), key=lambda m: m.name))

        return self._call("the member list (/v1/agent/members)", run)

    def leader(self) -> str:
        """``host:port`` of the Raft leader, or ``""`` when the cluster has none."""

        def run(c: consul.Consul) -> str:
            doc = self._get(c, "/v1/status/leader")
            if doc is not None and not isinstance(doc, str):
                raise TypeError("leader is not a string")
            return doc or ""

        return self._call("the leader (/v1/status/leader)", run)

    def peers(self) -> tuple[str, ...]:
        def run(c: consul.Consul) -> tuple[str, ...]:
            doc = self._get(c, "/v1/status/peers")
            if doc is not None and not isinstance(doc, list):
                raise TypeError("peers is not a list")
            return tuple(str(p) for p in doc or ())

        return self._call("the Raft peers (/v1/status/peers)", run)

    def nodes(
        self, index: int | None = None, wait: str | None = None, stale: bool = False
    ) -> tuple[int, tuple[CatalogNode, ...]]:
        """(X-Consul-Index, nodes). With ``index`` and ``wait``: a blocking query."""
        wait = _check_wait(wait)

        def run(c: consul.Consul) -> tuple[int, tuple[CatalogNode, ...]]:
            idx, docs = c.catalog.nodes(
                index=_blocking_index(index), wait=wait, consistency="stale" if stale else None
            )
            return _parse_index(idx), tuple(sorted((parse_node(d) for d in docs or ()), key=lambda n: n.node))

        return self._call("the catalog's nodes (/v1/catalog/nodes)", run)

    def checks(
        self, index: int | None = None, wait: str | None = None, stale: bool = False
    ) -> tuple[int, tuple[HealthCheck, ...]]:
        """(X-Consul-Index, every health check). With ``index`` and ``wait``: a blocking query."""
        wait = _check_wait(wait)

        def run(c: consul.Consul) -> tuple[int, tuple[HealthCheck, ...]]:
            if stale:  # py-consul's health.state has no consistency option
                params: list = [("stale", "1")]
                if _blocking_index(index):
                    params.append(("index", _blocking_index(index)))
                    if wait:
                        params.append(("wait", wait))
                idx, docs = self._get(c, "/v1/health/state/any", params, index=True)
            else:
                idx, docs = c.health.state("any", index=_blocking_index(index), wait=wait)
            checks = (parse_check(d) for d in docs or ())
            return _parse_index(idx), tuple(sorted(checks, key=lambda h: (h.node, h.check_id)))

        return self._call("the health checks (/v1/health/state/any)", run)

    def kv(
        self, prefix: str = "docker/", index: int | None = None, wait: str | None = None, stale: bool = False
    ) -> tuple[int, tuple[KVEntry, ...]]:
        """(X-Consul-Index, every key under ``prefix``); no key -> (index, ()). Values are bytes."""
        wait = _check_wait(wait)
        prefix = prefix.lstrip("/")

        def run(c: consul.Consul) -> tuple[int, tuple[KVEntry, ...]]:
            idx, docs = c.kv.get(
                prefix,
                recurse=True,
                index=_blocking_index(index),
                wait=wait,
                consistency="stale" if stale else None,
            )
            return _parse_index(idx), tuple(sorted((parse_kv(d) for d in docs or ()), key=lambda e: e.key))

        return self._call(f"the KV store under {prefix or '/'}", run)

    # -- everything at once --

    def snapshot(self, prefix: str = "docker/") -> ConsulSnapshot:
        """Agent, members, leader, peers, nodes, checks and KV in one object.

        Raises ``ConsulProblem`` when the agent does not answer at all. When it
        answers but a query fails (a 403 on the KV, for instance), that query's
        sentence goes into ``problems`` and the rest is still returned. Without a
        leader, the catalog, checks and KV are read in stale mode.
        """
        agent = self.agent_self()
        members = self.members()
        leader = self.leader()
        peers = self.peers()
        stale = not leader
        problems: list[tuple[str, str]] = []
        nodes_index = checks_index = kv_index = None
        nodes: tuple[CatalogNode, ...] = ()
        checks: tuple[HealthCheck, ...] = ()
        kv: tuple[KVEntry, ...] = ()
        try:
            nodes_index, nodes = self.nodes(stale=stale)
        except ConsulProblem as err:
            problems.append(("nodes", str(err)))
        try:
            checks_index, checks = self.checks(stale=stale)
        except ConsulProblem as err:
            problems.append(("checks", str(err)))
        try:
            kv_index, kv = self.kv(prefix, stale=stale)
        except ConsulProblem as err:
            problems.append(("kv", str(err)))
        return ConsulSnapshot(
            address=self.address,
            agent=agent,
            members=members,
            leader=leader,
            peers=peers,
            nodes=nodes,
            checks=checks,
            kv=kv,
            kv_prefix=prefix,
            nodes_index=nodes_index,
            checks_index=checks_index,
            kv_index=kv_index,
            stale=stale,
            problems=tuple(problems),
        )

    # -- blocking-query helpers --

    def watch_nodes(self, wait: str = "30s") -> "Watch[tuple[CatalogNode, ...]]":
        return Watch(lambda index, w: self.nodes(index=index, wait=w), wait)

    def watch_checks(self, wait: str = "30s") -> "Watch[tuple[HealthCheck, ...]]":
        return Watch(lambda index, w: self.checks(index=index, wait=w), wait)

    def watch_kv(self, prefix: str = "docker/", wait: str = "30s") -> "Watch[tuple[KVEntry, ...]]":
        return Watch(lambda index, w: self.kv(prefix, index=index, wait=w), wait)


def _blocking_index(index: int | None) -> int | None:
    """py-consul sends ``index`` only when truthy; an index of 0 or less blocks from 1."""
    if index is None:
        return None
    return max(1, int(index))


class Watch(Generic[T]):
    """Follows one blocking query for a worker thread.

    ``next()`` returns (index, data) the first time at once, and afterwards only
    when the data differ from what it last returned: answers with the same data
    (the wait ran out, or the index moved for another reason) are swallowed.
    If the index goes backwards (the agent restarted or was restored), the new,
    lower index is taken as it is and blocking resumes from there. Errors
    propagate as ``ConsulProblem``; the watch keeps its place, so calling
    ``next()`` again resumes.
    """

    _NOTHING = object()

    def __init__(self, fetch: Callable[[int | None, str | None], tuple[int, T]], wait: str = "30s") -> None:
        self._fetch = fetch
        self.wait = _check_wait(wait) or "30s"
        self.index: int | None = None
        self._last: Any = self._NOTHING
        self.resets = 0

    def reset(self) -> None:
        """Forget the index and the data: the next call returns at once."""
        self.index = None
        self._last = self._NOTHING

    def next(self, stop: threading.Event | None = None) -> tuple[int, T] | None:
        """Block until the data changed; None when ``stop`` was set."""
        quick_repeats = 0
        while stop is None or not stop.is_set():
            started = time.monotonic()
            if self.index is None:
                index, data = self._fetch(None, None)
            else:
                index, data = self._fetch(self.index, self.wait)
            if self.index is not None and index < self.index:
                self.resets += 1
            self.index = index if index > 0 else 1
            if self._last is self._NOTHING or data != self._last:
                self._last = data
                return index, data
            # Unchanged. If the agent answered at once instead of blocking (an
            # index that moved for another reason), do not spin: back off a little.
            if time.monotonic() - started > 0.05:
                quick_repeats = 0
                continue
            quick_repeats += 1
            pause = min(2.0, 0.05 * quick_repeats)
            if stop is not None:
                if stop.wait(pause):
                    return None
            else:
                time.sleep(pause)
        return None
