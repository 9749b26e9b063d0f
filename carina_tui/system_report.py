"""What the System pane and ``carina-tui status`` say about a cluster's Consul agents.

No Textual: the console calls this from a thread worker, the status command directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from carina_tui.core.consistency import ConsulWarning, check_consistency
from carina_tui.core.consul_where import consul_address as where
from carina_tui.core.consul_models import ConsulSnapshot, KVDecoded
from carina_tui.core.errors import CarinaError
from carina_tui.core.kvdecode import decode_entries
from carina_tui.core.models import ContainerInfo, NetworkInfo
from carina_tui.session import Session, Snapshot


@dataclass(frozen=True)
class SystemReport:
    address: str
    consul: ConsulSnapshot | CarinaError | None
    kv: KVDecoded | None
    warnings: tuple[ConsulWarning, ...]
    unreachable: tuple[str, ...] = ()  # nodes whose engine did not answer: what Consul says of them may be stale


def agents_of(session: Session, containers) -> list[ContainerInfo]:
    """The protected containers: the Consul agents (and whatever else the rules protect)."""
    return [c for c in containers if session.guard.classify(c) is not None]


def consul_address(session: Session, agents: list[ContainerInfo]) -> str:
    """Where to ask Consul: the rule of ``core.consul_where`` over the running agents, except a
    container address this machine has no direct route to (the request would leave the machine)."""
    if session.spec.consul:
        return session.spec.consul
    for agent in agents:
        if agent.state != "running":
            continue
        url = where(session.spec.consul, agent, session.gateways[agent.endpoint].url if agent.endpoint in session.gateways else "")
        if not url:
            continue
        host = urlsplit(url).hostname or ""
        if any(host == n.ipv4 for n in agent.networks) and not on_local_link(host):
            continue
        return url
    return ""


def on_local_link(ip: str, route_table: str = "/proc/net/route") -> bool:
    """True when ``ip`` is on a network this machine is directly attached to.

    A container's address is only worth asking when the console runs beside
    the engine (same network namespace); otherwise the request would leave the
    machine through the default route towards an address that is not ours.
    """
    import ipaddress
    import socket
    import struct

    try:
        addr = ipaddress.IPv4Address(ip)
        lines = open(route_table).read().splitlines()[1:]
    except (ValueError, OSError):
        return False
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest, gateway, mask = (int(fields[i], 16) for i in (1, 2, 7))
        if gateway != 0 or mask == 0:
            continue  # routes through a gateway, and the default route, do not count
        net = ipaddress.IPv4Network(
            (socket.inet_ntoa(struct.pack("<I", dest)), socket.inet_ntoa(struct.pack("<I", mask))), strict=False)
        if addr in net:
            return True
    return False


def node_names(snapshot: Snapshot) -> list[str]:
    if snapshot.nodes:
        return [n.hostname for n in snapshot.nodes]
    return [s.info.name for s in snapshot.engines if s.info is not None]


def unreachable_nodes(session: Session, snapshot: Snapshot) -> dict[str, float]:
    """The nodes whose engine did not answer (their name, else the swarm's name for that address,
    else the endpoint) and when they last did."""
    by_addr = {n.addr: n.hostname for n in snapshot.nodes if n.addr}
    out: dict[str, float] = {}
    for state in snapshot.engines:
        if state.reachable:
            continue
        gw = session.gateways.get(state.key)
        name = gw.node if gw is not None else ""
        out[name or by_addr.get(urlsplit(state.url).hostname or "", state.url)] = state.since
    return out


def build_report(session: Session, snapshot: Snapshot, *, timeout: float = 3.0) -> SystemReport:
    agents = [c for c in agents_of(session, snapshot.containers) if "consul" in c.image or c.name.endswith("carina-svcd")]
    down = unreachable_nodes(session, snapshot)
    gone = {s.key for s in snapshot.engines if not s.reachable}
    address = consul_address(session, [a for a in agents if a.endpoint not in gone])
    consul: ConsulSnapshot | CarinaError | None = None
    kv: KVDecoded | None = None
    if address:
        from carina_tui.gateways.consul_gateway import ConsulGateway

        gateway = ConsulGateway(address, token=session.spec.consul_token or os.environ.get("CONSUL_HTTP_TOKEN"),
                                timeout=timeout)
        try:
            consul = gateway.snapshot()
            kv = decode_entries(consul.kv)
        except CarinaError as err:
            consul = err
        finally:
            gateway.close()
    networks: list[NetworkInfo] = list(snapshot.networks)
    warnings = check_consistency(
        agents,
        node_names(snapshot) if agents or address else [],
        consul,
        docker_networks=networks if kv is not None else None,
        kv_networks=kv,
        unreachable=down,
    )
    return SystemReport(address, consul, kv, warnings, tuple(sorted(down)))


class ConsulWatch:
    """A blocking watch on Consul's health checks, on a dedicated daemon thread
    (``carina-consul:<address>``): ``on_change()`` is called each time they change.

    A blocking query holds its connection for up to ``wait``; ``stop()`` aborts it
    (the gateway shuts its socket down), so the thread ends at once.
    """

    def __init__(self, address: str, token: str | None, on_change, *, wait: str = "30s", retry: float = 5.0) -> None:
        import threading

        from carina_tui.gateways.consul_gateway import ConsulGateway

        self.address = address
        self.on_change = on_change
        self.retry = retry
        self._stop = threading.Event()
        self._gateway = ConsulGateway(address, token=token, timeout=10)
        self._watch = self._gateway.watch_checks(wait=wait)
        self.thread = None

    def start(self) -> "ConsulWatch":
        from carina_tui.runtime import start_loop

        self.thread = start_loop(f"carina-consul:{self.address}", self._run)
        return self

    def _run(self) -> None:
        first = True
        try:
            while not self._stop.is_set():
                try:
                    changed = self._watch.next(self._stop)
                except CarinaError:
                    if self._stop.wait(self.retry):
                        return
                    continue
                if changed is None:
                    return
                if not first:
                    self.on_change()
                first = False
        finally:
            self._gateway.close()

    def stop(self) -> None:
        self._stop.set()
        self._gateway.abort()
