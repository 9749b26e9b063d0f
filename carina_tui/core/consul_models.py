"""Frozen dataclasses for what Consul says and what its KV store holds.

The Consul gateway builds these from the JSON of Consul's HTTP API; the KV
decoder (``core.kvdecode``) builds the libnetwork rows; the consistency rules
(``core.consistency``) read both. Nothing above the gateway sees py-consul.
"""

from __future__ import annotations

from dataclasses import dataclass

from carina_tui.core.models import Pairs

# Serf's member status codes, as /v1/agent/members reports them (``Status``).
MEMBER_STATUS: dict[int, str] = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}

CHECK_STATES = ("passing", "warning", "critical", "maintenance")


def member_status_word(code: object) -> str:
    """Serf's numeric status as a word: 1 -> ``alive``; an unknown code -> ``unknown (7)``."""
    if isinstance(code, bool):
        return f"unknown ({code})"
    if isinstance(code, str):
        if code in MEMBER_STATUS.values():
            return code
        try:
            code = int(code)
        except ValueError:
            return f"unknown ({code})"
    if isinstance(code, int) and code in MEMBER_STATUS:
        return MEMBER_STATUS[code]
    return f"unknown ({code})"


@dataclass(frozen=True, slots=True)
class AgentSelf:
    """The agent the console talks to (``/v1/agent/self``)."""

    node_name: str
    datacenter: str
    version: str
    server: bool
    address: str = ""
    revision: str = ""
    node_id: str = ""

    @property
    def role(self) -> str:
        return "server" if self.server else "client"


@dataclass(frozen=True, slots=True)
class ConsulMember:
    """One member of the LAN gossip pool as this agent sees it (``/v1/agent/members``)."""

    name: str
    addr: str
    port: int
    status: str  # none | alive | leaving | left | failed | unknown (N)
    status_code: int = -1
    role: str = ""  # server | client (from the ``role`` tag: consul -> server, node -> client)
    datacenter: str = ""
    version: str = ""  # from the ``build`` tag when present
    tags: Pairs = ()

    @property
    def alive(self) -> bool:
        return self.status == "alive"


@dataclass(frozen=True, slots=True)
class CatalogNode:
    """A node registered in the catalog (``/v1/catalog/nodes``)."""

    node: str
    address: str
    datacenter: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One health check (``/v1/health/state/any``)."""

    node: str
    check_id: str
    name: str
    status: str  # passing | warning | critical (| maintenance)
    output: str = ""
    service_id: str = ""
    service_name: str = ""
    notes: str = ""

    @property
    def key(self) -> str:
        return f"{self.node}|{self.check_id}"


@dataclass(frozen=True, slots=True)
class KVEntry:
    """One key of the KV store. ``value`` is the decoded bytes, or None for an empty key."""

    key: str
    modify_index: int
    value: bytes | None = None
    flags: int = 0
    create_index: int = 0
    lock_index: int = 0
    session: str = ""


@dataclass(frozen=True, slots=True)
class ConsulSnapshot:
    """Everything one agent said in one round of queries.

    ``problems`` holds (query, sentence) for the queries that failed while the
    agent itself answered (for example the catalog without a leader); their
    fields are then empty and their index is None. ``stale`` is True when the
    catalog, health and KV were read in stale mode because there was no leader.
    """

    address: str
    agent: AgentSelf
    members: tuple[ConsulMember, ...] = ()
    leader: str = ""
    peers: tuple[str, ...] = ()
    nodes: tuple[CatalogNode, ...] = ()
    checks: tuple[HealthCheck, ...] = ()
    kv: tuple[KVEntry, ...] = ()
    kv_prefix: str = "docker/"
    nodes_index: int | None = None
    checks_index: int | None = None
    kv_index: int | None = None
    stale: bool = False
    problems: Pairs = ()

    @property
    def has_leader(self) -> bool:
        return bool(self.leader)

    @property
    def indexes(self) -> dict[str, int | None]:
        return {"nodes": self.nodes_index, "checks": self.checks_index, "kv": self.kv_index}

    def as_json(self) -> dict:
        """The ``consul`` object of ``carina-tui status --json``."""
        return {
            "address": self.address,
            "node": self.agent.node_name,
            "datacenter": self.agent.datacenter,
            "version": self.agent.version,
            "role": self.agent.role,
            "leader": self.leader,
            "peers": list(self.peers),
            "members": [
                {"name": m.name, "addr": m.addr, "port": m.port, "status": m.status, "role": m.role}
                for m in self.members
            ],
            "checks": [
                {"node": c.node, "check_id": c.check_id, "name": c.name, "status": c.status}
                for c in self.checks
            ],
            "stale": self.stale,
            "problems": [{"query": q, "sentence": s} for q, s in self.problems],
        }


# --- libnetwork records decoded from the KV store (see core.kvdecode) -------------

# What one KV entry turned out to be.
RECORD_KINDS = (
    "network",  # docker/network/v1.0/network/<id>/
    "endpoint",  # docker/network/v1.0/endpoint/<nid>/<eid>/
    "endpoint-count",  # docker/network/v1.0/endpoint_count/<nid>/
    "ipam-config",  # docker/network/v1.0/ipam/<driver>/config/<address space>/
    "ipam-bitmask",  # docker/network/v1.0/ipam/<driver>/data/<pool id>/
    "overlay-network",  # docker/network/v1.0/overlay/network/<nid>/
    "id-bitmask",  # docker/network/v1.0/idm/<name>/ (VXLAN ids)
    "json",  # some other JSON document
    "text",  # printable UTF-8
    "hex",  # anything else
    "empty",  # a key without a value (a "directory")
    "raw",  # looked like a libnetwork record but could not be decoded
)


@dataclass(frozen=True, slots=True)
class KVRecord:
    """One KV entry as the KV view lists it: the key, what it is, a one-line summary.

    ``detail`` is the full decoded value (pretty JSON with nested JSON strings
    expanded, the text, or a hex dump) for the details view.
    """

    key: str
    modify_index: int
    kind: str
    summary: str
    detail: str = ""
    object_id: str = ""  # the network or endpoint id the key names, when it names one


@dataclass(frozen=True, slots=True)
class KVNetwork:
    """A network object as libnetwork stored it in the global store."""

    id: str
    name: str
    driver: str
    key: str = ""
    modify_index: int = 0
    scope: str = ""
    ipam_driver: str = ""
    address_space: str = ""
    ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    in_delete: bool = False
    created: str = ""
    labels: Pairs = ()
    options: Pairs = ()  # driver options (``generic`` -> com.docker.network.generic)
    endpoint_count: int | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True, slots=True)
class KVSubnet:
    """One IPAM pool of a network (from ipamV4Info / ipamV4Config and friends)."""

    network_id: str
    network_name: str
    family: str  # IPv4 | IPv6
    subnet: str
    gateway: str = ""
    ip_range: str = ""
    pool_id: str = ""
    address_space: str = ""
    vni: int | None = None  # VXLAN id from the overlay driver's record
    used: int | None = None  # addresses taken in the pool's bitmask
    size: int | None = None  # addresses in the pool's bitmask


@dataclass(frozen=True, slots=True)
class KVEndpoint:
    """An endpoint (a container's attachment to a network) as libnetwork stored it."""

    id: str
    name: str
    network_id: str
    network_name: str = ""
    key: str = ""
    address: str = ""
    address_v6: str = ""
    mac: str = ""
    sandbox: str = ""
    pool_id: str = ""
    locator: str = ""  # the node (engine address) that owns the endpoint, when recorded
    aliases: tuple[str, ...] = ()
    service: str = ""
    anonymous: bool = False
    ports: str = ""

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True, slots=True)
class KVDecoded:
    """The whole KV listing, decoded: one record per key plus the libnetwork tables."""

    records: tuple[KVRecord, ...] = ()
    networks: tuple[KVNetwork, ...] = ()
    subnets: tuple[KVSubnet, ...] = ()
    endpoints: tuple[KVEndpoint, ...] = ()

    def network(self, network_id: str) -> KVNetwork | None:
        for n in self.networks:
            if n.id == network_id:
                return n
        return None
