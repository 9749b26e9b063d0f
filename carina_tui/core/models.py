"""Frozen dataclasses for everything the console shows.

Gateways build these from library objects; nothing above the gateways ever
sees a docker-py or py-consul object. Mappings are stored as sorted tuples of
pairs so every model is hashable and comparable (row diffs rely on ``==``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

Pairs = tuple[tuple[str, str], ...]


def pairs(mapping: dict | None) -> Pairs:
    """A dict (or None) as a sorted tuple of string pairs."""
    if not mapping:
        return ()
    return tuple(sorted((str(k), "" if v is None else str(v)) for k, v in mapping.items()))


def short_id(full_id: str) -> str:
    return full_id.split(":", 1)[-1][:12]


def age(created: float, now: float | None = None, *, coarse: bool = False) -> str:
    """Human age of an epoch timestamp: 45s, 12m, 3h, 9d. ``coarse``: "<1m" under a minute, for a
    pane that redraws its ages once a minute (seconds there would go on showing "3s" for a minute)."""
    seconds = max(0, int((now if now is not None else time.time()) - created))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "<1m" if coarse else f"{seconds}s"


def clock(moment: float) -> str:
    """The local time of day of an epoch timestamp: 14:03:07 (when a node last answered)."""
    return time.strftime("%H:%M:%S", time.localtime(moment))


@dataclass(frozen=True, slots=True)
class PortBinding:
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int | None = None

    def __str__(self) -> str:
        inner = f"{self.container_port}/{self.protocol}"
        if self.host_port is None:
            return inner
        return f"{self.host_port}->{inner}"


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    network: str
    network_id: str = ""
    ipv4: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    id: str
    name: str
    state: str
    image: str
    endpoint: str = ""
    node: str = ""
    status: str = ""
    image_id: str = ""
    # The other names of its image, as the gateway resolved them: the name it was created from, the
    # image's current tags and digests (``image`` is what the engine's list shows, maybe ``sha256:…``).
    image_refs: tuple[str, ...] = ()
    command: str = ""
    created: float = 0.0
    labels: Pairs = ()
    networks: tuple[NetworkAttachment, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[str, ...] = ()  # the names of the volumes it mounts

    @property
    def key(self) -> str:
        """Row key, unique across the engines of a cluster."""
        return f"{self.endpoint}|{self.id}"

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def qualified_name(self) -> str:
        """``node/name`` as classic Swarm and Carina's ``docker ps`` showed it."""
        return f"{self.node}/{self.name}" if self.node else self.name

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def image_names(self) -> tuple[str, ...]:
        """Every name its image goes by: ``image`` first, then ``image_refs``."""
        return (self.image, *self.image_refs)

    @property
    def stopped(self) -> bool:
        return self.state in STOPPED_STATES

    @property
    def running(self) -> bool:
        """Running, restarting or paused: it holds its ports, and removing it means killing it."""
        return self.state in RUNNING_STATES

    @property
    def ports_text(self) -> str:
        return ", ".join(sorted({str(p) for p in self.ports if p.host_port is not None}))

    @property
    def all_ports_text(self) -> str:
        """Every port, published or not, each once: the engine lists a published port once per
        host address (0.0.0.0 and ::), which reads as the same port twice."""
        return ", ".join(dict.fromkeys(str(p) for p in self.ports))

    @property
    def networks_text(self) -> str:
        return ", ".join(n.network for n in self.networks)


STOPPED_STATES = frozenset({"exited", "created", "dead"})
RUNNING_STATES = frozenset({"running", "restarting", "paused"})


@dataclass(frozen=True, slots=True)
class IPAMConfig:
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    id: str
    name: str
    driver: str
    scope: str
    endpoint: str = ""
    node: str = ""
    ipam: tuple[IPAMConfig, ...] = ()
    attachable: bool = False
    internal: bool = False
    ipv6: bool = False
    labels: Pairs = ()
    options: Pairs = ()
    created: str = ""

    @property
    def key(self) -> str:
        # Swarm-scoped networks share one id on every node: show them once.
        if self.scope == "swarm":
            return f"swarm|{self.id}"
        return f"{self.endpoint}|{self.id}"

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def subnets_text(self) -> str:
        return ", ".join(c.subnet for c in self.ipam if c.subnet)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED_NETWORKS

    def display_name(self, qualify: bool) -> str:
        """The name as the console shows it: ``node/name`` for a node's own (local) network when
        ``qualify`` (a cluster of several engines, where every node has a ``bridge``), else the name.
        A swarm network is one network on every node and keeps its plain name."""
        return f"{self.node}/{self.name}" if qualify and self.scope != "swarm" and self.node else self.name


# The networks an engine makes by itself, by what they allow.
NO_OWN_NETWORK = frozenset({"host", "none"})  # the host's stack, or none: alone, and no ports published
SWARM_PLUMBING = frozenset({"ingress", "docker_gwbridge"})  # the swarm's own: nobody picks them
PREDEFINED_NETWORKS = NO_OWN_NETWORK | SWARM_PLUMBING | {"bridge"}
NO_ALIASES = NO_OWN_NETWORK | {"bridge"}  # aliases work on user-defined networks only
NOT_JOINABLE = NO_OWN_NETWORK | SWARM_PLUMBING  # a container cannot be connected to these after it was made


@dataclass(frozen=True, slots=True)
class NetworkMember:
    """A container attached to a network, as network inspect reports it."""

    container_id: str
    name: str
    ipv4: str = ""
    ipv6: str = ""
    mac: str = ""
    aliases: tuple[str, ...] = ()
    node: str = ""


@dataclass(frozen=True, slots=True)
class NetworkDetail:
    network: NetworkInfo
    members: tuple[NetworkMember, ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerDetail:
    """A container as inspect reports it: the summary plus the raw document as JSON text."""

    container: ContainerInfo
    started_at: str = ""
    finished_at: str = ""
    exit_code: int | None = None
    restart_policy: str = ""
    env: tuple[str, ...] = ()
    raw_json: str = "{}"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...] = ()
    size: int = 0
    created: float = 0.0
    labels: Pairs = ()


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What one engine says about itself (``docker info`` + ``docker version``)."""

    endpoint: str
    name: str
    engine_id: str = ""
    version: str = ""
    api_version: str = ""
    os: str = ""
    swarm_state: str = "inactive"  # inactive | active | pending | error | locked
    swarm_role: str = ""  # manager | worker | ""
    swarm_node_id: str = ""
    swarm_nodes: int = 0
    swarm_managers: int = 0
    containers: int = 0
    running: int = 0
    stopped: int = 0
    drivers: tuple[str, ...] = ()
    clock: str = ""  # the engine's time as it answered, as the events API's ``since`` takes it (seconds.nanoseconds)

    @property
    def is_manager(self) -> bool:
        return self.swarm_state == "active" and self.swarm_role == "manager"


def swarm_size(infos: Iterable[EngineInfo], endpoints: int) -> int:
    """How many nodes a cluster has: what a swarm manager says (a worker's info says 0), else one
    per endpoint; 0 when no engine answered."""
    infos = list(infos)
    info = next((i for i in infos if i.is_manager), infos[0] if infos else None)
    if info is None:
        return 0
    return info.swarm_nodes if info.swarm_state == "active" and info.swarm_nodes else endpoints


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A swarm node as a manager's node list reports it."""

    id: str
    hostname: str
    role: str
    availability: str
    status: str
    addr: str = ""
    manager_reachability: str = ""
    leader: bool = False
    engine_version: str = ""
    labels: Pairs = ()


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One event from an engine's stream, reduced to what the console reacts to."""

    endpoint: str
    type: str  # container | network | ...
    action: str
    id: str
    name: str = ""
    time: float = field(default=0.0, compare=False)
