"""Addresses used of a swarm network's subnet, and whether more would fit (pure: no client).

An overlay network's addresses come from one pool for the whole swarm: every task
on it takes one, every container attached to it (``docker run --network``) one,
every node with something on it one more for its load balancer endpoint
(``lb-<network>``), and a service in ``vip`` endpoint mode one for its virtual IP.
When the pool is empty Swarm leaves the new task pending with "could not find an
available IP" (moby #43052) and an attach times out; nothing says the subnet is
full. ``AddressUse`` counts what ``docker network inspect --verbose`` shows on
every node; ``shortfall`` says, before a create or a scale, that it would not fit.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

WARN_AT = 0.8  # the share of a subnet's addresses in use from which the console warns

# What holds an address (``Holder.kind``).
TASK, CONTAINER, LOAD_BALANCER, VIRTUAL_IP = "task", "container", "load balancer", "virtual IP"


@dataclass(frozen=True, slots=True)
class Holder:
    """One address in use and what holds it."""

    address: str
    kind: str  # TASK | CONTAINER | LOAD_BALANCER | VIRTUAL_IP
    name: str = ""  # the task's or container's name, the service of a VIP, the node of a load balancer
    node: str = ""


def is_load_balancer(key: str, name: str = "") -> bool:
    """Whether an entry of a verbose network inspect's ``Containers`` (its key, its ``Name``) is a
    node's load balancer endpoint: ``lb-<network>`` on an overlay network, and on the ingress
    network its sandbox ``ingress-sbox``, named ``<network>-endpoint`` (``ingress-endpoint``)."""
    return key.startswith("lb-") or key.endswith("-sbox") or name.endswith("-endpoint")


def usable(subnet: str) -> int:
    """How many addresses of an IPv4 ``subnet`` tasks and containers can get: all but the network
    and broadcast addresses and the gateway (which the engine always reserves, given or not)."""
    net = ipaddress.ip_network(subnet, strict=False)
    if net.version != 4:
        return 0
    if net.prefixlen >= 31:
        return 0
    return net.num_addresses - 3


@dataclass(frozen=True, slots=True)
class AddressUse:
    """A swarm network's subnet(s) and the addresses in use, across every node that answered."""

    network: str  # its name
    network_id: str
    subnets: tuple[str, ...]
    capacity: int  # usable addresses in all its IPv4 subnets
    holders: tuple[Holder, ...] = ()
    unseen: tuple[str, ...] = ()  # nodes whose engine did not answer: what they hold is not counted

    @property
    def used(self) -> int:
        return len(self.holders)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)

    @property
    def share(self) -> float:
        return self.used / self.capacity if self.capacity else 1.0

    @property
    def nodes_on(self) -> frozenset[str]:
        """The nodes that have a load balancer endpoint on the network: a new task on any other
        node takes one more address for that node's own."""
        return frozenset(h.node for h in self.holders if h.kind == LOAD_BALANCER)

    def count(self, kind: str) -> int:
        return sum(1 for h in self.holders if h.kind == kind)

    @property
    def text(self) -> str:
        """``4/5 (80%)`` for a column; ``≥`` when a node did not answer."""
        at_least = "≥" if self.unseen else ""
        return f"{at_least}{self.used}/{self.capacity} ({self.share:.0%})" if self.capacity else "no IPv4 subnet"

    @property
    def breakdown(self) -> str:
        """``2 tasks, 1 container, 1 load balancer, 1 virtual IP`` for the details."""
        parts = []
        for kind in (TASK, CONTAINER, LOAD_BALANCER, VIRTUAL_IP):
            n = self.count(kind)
            if n:
                parts.append(f"{n} {kind}{'' if n == 1 else 's'}")
        return ", ".join(parts) or "nothing"

    @property
    def warning(self) -> str | None:
        """A sentence from ``WARN_AT`` of the subnet in use, else None."""
        if not self.capacity or self.share < WARN_AT:
            return None
        full = "is full" if self.free == 0 else f"has {self.free} free address{'es' if self.free != 1 else ''} left"
        return (f"Network {self.network} ({', '.join(self.subnets)}) uses {self.used} of its {self.capacity} "
                f"addresses ({self.share:.0%}) and {full}: a new task, attached container or node on it will "
                "fail with \"could not find an available IP\". Use a network with a bigger subnet for new services.")


def needed(*, tasks: int, virtual_ip: bool = False, new_nodes: int = 0) -> int:
    """Addresses a change takes: one per new task, one for a new service's virtual IP (endpoint
    mode ``vip``), one load balancer endpoint per node that has nothing on the network yet."""
    return max(0, tasks) + (1 if virtual_ip else 0) + max(0, new_nodes)


def shortfall(use: AddressUse, *, tasks: int, virtual_ip: bool = False, new_nodes: int = 0,
              what: str = "this change") -> str | None:
    """None when ``tasks`` more tasks (and a virtual IP, and load balancers on ``new_nodes`` nodes)
    fit in ``use``'s free addresses; else the sentence that says so before Swarm fails."""
    need = needed(tasks=tasks, virtual_ip=virtual_ip, new_nodes=new_nodes)
    if need <= use.free:
        return None
    parts = [f"{tasks} task{'s' if tasks != 1 else ''}"] if tasks else []
    if virtual_ip:
        parts.append("a virtual IP")
    if new_nodes:
        parts.append(f"{new_nodes} load balancer{'s' if new_nodes != 1 else ''} for "
                     f"{'a node' if new_nodes == 1 else 'nodes'} new to the network")
    unseen = f" (not counting what {', '.join(use.unseen)} hold{'s' if len(use.unseen) == 1 else ''})" \
        if use.unseen else ""
    return (f"Network {use.network} ({', '.join(use.subnets)}) has {use.free} free address"
            f"{'es' if use.free != 1 else ''} of {use.capacity}{unseen}, and {what} needs {need} "
            f"({' and '.join(parts) or 'none'}): Swarm would leave the tasks pending with \"could not find an "
            "available IP\". Use a network with a bigger subnet, or make room on this one first.")


def may_run_on(nodes, constraints=()) -> tuple[str, ...]:
    """The hostnames of ``nodes`` (``core.models.NodeInfo``) a new task may be placed on: active and
    ready, and meeting the ``node.hostname``/``node.role``/``node.id`` constraints (other constraints,
    such as node labels, are not judged: those nodes count, so the check errs on the side of caution).
    Swarm spreads a service's tasks over these first, so each may take a load balancer address."""
    tests = []
    for c in constraints:
        for op in ("==", "!="):
            if op in c:
                attr, value = (part.strip() for part in c.split(op, 1))
                tests.append((attr, op == "==", value))
                break
    out = []
    for n in nodes:
        if n.availability != "active" or n.status != "ready":
            continue
        known = {"node.hostname": n.hostname, "node.role": n.role, "node.id": n.id}
        if all((known[attr] == value) == equal for attr, equal, value in tests if attr in known):
            out.append(n.hostname)
    return tuple(out)


# The least a swarm network must hold to carry one service: its virtual IP, one task, and the
# load balancer endpoint of the node that task runs on.
SMALLEST_USEFUL = needed(tasks=1, virtual_ip=True, new_nodes=1)


def subnet_too_small(subnet: str, name: str = "") -> str | None:
    """Before creating an overlay network: a sentence when ``subnet`` cannot hold even one service
    (``SMALLEST_USEFUL`` addresses), else None."""
    try:
        room = usable(subnet)
    except ValueError:
        return None  # not a subnet: validation says so
    if ipaddress.ip_network(subnet, strict=False).version != 4 or room >= SMALLEST_USEFUL:
        return None
    called = f"Network {name}" if name else "The network"
    return (f"{called} would have {room} usable address{'es' if room != 1 else ''} in {subnet} (its gateway, "
            f"network and broadcast addresses are taken), and a swarm network needs at least {SMALLEST_USEFUL} "
            "for one service: a task, its node's load balancer and the service's virtual IP. Use /29 or larger.")
