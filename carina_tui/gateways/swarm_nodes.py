"""Swarm reads for nodes and overlay addresses: functions over ``DockerGateway``.

Reads only; the one mutation here, a node's availability, is
``DockerGateway.update_node_availability`` (it takes the guard's permit like every
mutating method). Everything returned is a frozen dataclass from
``core.swarm_nodes`` / ``core.overlay_addresses``; errors are our own
(``DockerGateway._read`` turns the library's into sentences).

``address_use`` asks every engine of the cluster for ``docker network inspect
--verbose``: a node sees its own endpoints (its task containers, attached
containers, its load balancer ``lb-<network>``) and, by gossip, the tasks and
attached containers of the other nodes that have joined the network, and a
manager with nothing on the network sees nothing at all. The union of what the
engines say is what the subnet holds.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from typing import Iterable
from urllib.parse import quote, urlencode

from carina_tui.core.errors import CarinaError, NotFound
from carina_tui.core.models import NetworkInfo, NodeInfo, pairs
from carina_tui.core.overlay_addresses import (
    CONTAINER,
    LOAD_BALANCER,
    TASK,
    VIRTUAL_IP,
    AddressUse,
    Holder,
    shortfall,
    usable,
    is_load_balancer,
)
from carina_tui.core.swarm_nodes import NodeTask
from carina_tui.gateways.docker_gateway import DockerGateway


def _query(path: str, filters: dict[str, list[str]] | None = None, **more: str) -> str:
    query = {**more, **({"filters": json.dumps(filters)} if filters else {})}
    return f"{path}?{urlencode(query)}" if query else path


def node(gateway: DockerGateway, node_id: str) -> NodeInfo:
    """A fresh look at one node (a manager's inspect)."""
    raw = gateway._read(f"inspect node {node_id[:12]}", f"/nodes/{quote(node_id)}",
                        lambda api: api.inspect_node(node_id))
    return gateway._node(raw)


def node_tasks(gateway: DockerGateway, target: NodeInfo) -> list[NodeTask]:
    """The tasks a manager means ``target`` to run (desired state running), with their services'
    names and labels."""
    filters = {"node": [target.id], "desired-state": ["running"]}
    tasks = gateway._read(f"list the tasks of node {target.hostname}", _query("/tasks", filters),
                          lambda api: api.tasks(filters=filters))
    if not tasks:
        return []
    services = gateway._read("list the swarm's services", "/services", lambda api: api.services())
    by_id = {s.get("ID"): (s.get("Spec") or {}) for s in services}
    out = []
    for t in tasks:
        spec = (t.get("Spec") or {}).get("ContainerSpec") or {}
        service = by_id.get(t.get("ServiceID"), {})
        status = t.get("Status") or {}
        out.append(NodeTask(
            id=t.get("ID") or "",
            service=service.get("Name") or (t.get("ServiceID") or "")[:12],
            slot=int(t.get("Slot") or 0),
            image=(spec.get("Image") or "").split("@", 1)[0],
            state=status.get("State") or "",
            desired_state=t.get("DesiredState") or "",
            container_id=(status.get("ContainerStatus") or {}).get("ContainerID") or "",
            labels=pairs(spec.get("Labels")),
            service_labels=pairs(service.get("Labels")),
            node=target.hostname,
        ))
    return sorted(out, key=lambda t: (t.service, t.slot, t.id))


def _verbose(gateway: DockerGateway, network: NetworkInfo) -> dict:
    return gateway._read(f"inspect network {network.name}",
                         _query(f"/networks/{quote(network.id)}", verbose="true", scope="swarm"),
                         lambda api: api.inspect_network(network.id, verbose=True, scope="swarm"))


def _in_subnets(address: str, subnets: list) -> bool:

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in subnets)


def _is_address(text: str) -> bool:

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hostnames(gateways: list[DockerGateway]) -> dict[str, str]:
    """A node's address -> its hostname, from the first manager that answers."""
    for gateway in gateways:
        try:
            return {n.addr: n.hostname for n in gateway.nodes() if n.addr}
        except CarinaError:
            continue
    return {}


def address_use(gateways: Iterable[DockerGateway], network: NetworkInfo) -> AddressUse:
    """The addresses of ``network``'s IPv4 subnets in use on every node, as
    ``docker network inspect --verbose`` shows them on each engine (see the module docstring).
    Engines that do not answer are named in ``unseen``; a network they do not know is nothing on them."""

    subnets = [ipaddress.ip_network(c.subnet, strict=False) for c in network.ipam if c.subnet]
    subnets = [s for s in subnets if s.version == 4]
    held: dict[str, Holder] = {}
    unseen = []

    def hold(address: str, kind: str, name: str, node: str) -> None:
        address = address.split("/", 1)[0]
        if not address or not _in_subnets(address, subnets):
            return
        known = held.get(address)
        if known is not None:
            # One address seen twice: a task's own container on its node, and its gossiped endpoint
            # (which names the node by its address). Keep the kind TASK and the node's hostname.
            kind = TASK if TASK in (kind, known.kind) else known.kind
            node = known.node if _is_address(node) else node
        held[address] = Holder(address, kind, name or (known.name if known else ""), node)

    gateways = list(gateways)
    for gateway in gateways:
        try:
            doc = _verbose(gateway, network)
        except NotFound:
            continue  # this engine has nothing on the network (a worker that never joined it)
        except CarinaError:
            unseen.append(gateway.node or gateway.url)
            continue
        node = gateway.node
        for key, ep in (doc.get("Containers") or {}).items():
            if is_load_balancer(key, ep.get("Name") or ""):
                hold(ep.get("IPv4Address") or "", LOAD_BALANCER, node, node)
            else:
                hold(ep.get("IPv4Address") or "", CONTAINER, ep.get("Name") or "", node)
        for service, entry in (doc.get("Services") or {}).items():
            vip = (entry or {}).get("VIP") or ""
            if service and vip and vip != "<nil>":
                hold(vip, VIRTUAL_IP, service, "")
            for task in (entry or {}).get("Tasks") or ():
                hold(task.get("EndpointIP") or "", TASK if service else CONTAINER, task.get("Name") or "",
                     ((task.get("Info") or {}).get("Host IP")) or "")
    if any(_is_address(h.node) for h in held.values()):
        hostnames = _hostnames(gateways)
        held = {a: replace(h, node=hostnames.get(h.node, h.node)) for a, h in held.items()}
    return AddressUse(
        network=network.name,
        network_id=network.id,
        subnets=tuple(str(s) for s in subnets),
        capacity=sum(usable(str(s)) for s in subnets),
        holders=tuple(sorted(held.values(), key=lambda h: ipaddress.ip_address(h.address))),
        unseen=tuple(unseen),
    )


def address_shortfall(gateways: Iterable[DockerGateway], network: NetworkInfo, *, tasks: int,
                      virtual_ip: bool = False, on_nodes: Iterable[str] = (), what: str = "this change") -> str | None:
    """The check before a service create or scale on a swarm network: None when ``tasks`` more
    tasks fit in its subnet as the engines use it now, else a sentence saying they would not (what
    Swarm otherwise says only in its logs: "could not find an available IP", the task stays new).

    ``virtual_ip``: a new service in ``vip`` endpoint mode takes one more address. ``on_nodes``: the
    hostnames the tasks will run on, when known (a ``node.hostname==`` constraint): each that has no
    load balancer endpoint on the network yet takes one more (up to one per task). A network that is
    not swarm-scoped, or has no IPv4 subnet, is never short."""
    if network.scope != "swarm":
        return None
    use = address_use(gateways, network)
    if not use.capacity:
        return None
    new_nodes = min(max(tasks, 0), len(set(on_nodes) - use.nodes_on))
    return shortfall(use, tasks=tasks, virtual_ip=virtual_ip, new_nodes=new_nodes, what=what)
