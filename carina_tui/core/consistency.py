"""Is the cluster's Consul healthy, and does its KV store agree with Docker? Pure.

Inputs are what the gateways already returned: the agent containers per node
(the caller picks them with the protection rules), the cluster's node names,
the Consul snapshot or the ``ConsulProblem`` that stopped it, Docker's networks
and the networks decoded from the KV store. Output: warnings, most serious
first, each a sentence that says what is wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from carina_tui.core.consul_models import ConsulSnapshot, KVDecoded, KVNetwork
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import ContainerInfo, NetworkInfo, clock

AGENT_STOPPED = (
    "this node's Consul agent is stopped: overlay network changes on this node will fail; "
    "start it (`s`) or rebuild the node"
)
AGENT_PAUSED = (
    "this node's Consul agent is paused: overlay network changes on this node will fail; "
    "unpause it or rebuild the node"
)
AGENT_MISSING = (
    "this node has no Consul agent container: overlay network changes on this node will fail; "
    "rebuild the node"
)
NO_LEADER = (
    "Consul has no leader: its KV store takes no writes, so creating, removing or joining "
    "overlay networks fails on every node; start the stopped Consul agents so that the "
    "servers can elect one"
)

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_CODE_ORDER = {
    "node-unreachable": -1,
    "consul-unreachable": 0,
    "no-leader": 1,
    "agent-missing": 2,
    "agent-stopped": 3,
    "agent-paused": 4,
    "member-failed": 5,
    "network-missing-in-kv": 6,
    "network-missing-in-docker": 7,
    "consul-partial": 8,
}


@dataclass(frozen=True, slots=True)
class ConsulWarning:
    severity: str  # error | warning | info
    code: str
    sentence: str
    node: str = ""
    network: str = ""
    container: str = ""  # the agent container to act on (``s`` starts it), when there is one

    def as_json(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "sentence": self.sentence,
            "node": self.node,
            "network": self.network,
            "container": self.container,
        }


def _node_label(node: str) -> str:
    return f"Node {node}" if node else "This engine"


def _agent_warnings(agents: list[ContainerInfo], nodes: list[str]) -> list[ConsulWarning]:
    by_node: dict[str, list[ContainerInfo]] = {}
    for agent in agents:
        by_node.setdefault(agent.node, []).append(agent)
    out = []
    for node in sorted(set(nodes) | set(by_node)):
        mine = sorted(by_node.get(node, []), key=lambda c: (c.state != "paused", c.name))
        if any(c.state == "running" for c in mine):
            continue
        label = _node_label(node)
        if not mine:
            out.append(ConsulWarning("error", "agent-missing", f"{label}: {AGENT_MISSING}.", node=node))
            continue
        agent = mine[0]
        if agent.state == "paused":
            out.append(
                ConsulWarning("error", "agent-paused", f"{label}: {AGENT_PAUSED}.", node=node, container=agent.id)
            )
        else:
            out.append(
                ConsulWarning("error", "agent-stopped", f"{label}: {AGENT_STOPPED}.", node=node, container=agent.id)
            )
    return out


def _network_label(name: str, network_id: str) -> str:
    return f"{name} ({network_id[:12]})" if name else network_id[:12]


def _network_warnings(docker: list[NetworkInfo], kv: list[KVNetwork]) -> list[ConsulWarning]:
    docker_global: dict[str, NetworkInfo] = {}
    for n in docker:
        if n.scope == "global" and not n.predefined:
            docker_global.setdefault(n.id, n)
    kv_by_id = {n.id: n for n in kv if n.id}
    out = []
    for nid in sorted(set(docker_global) - set(kv_by_id), key=lambda i: (docker_global[i].name, i)):
        n = docker_global[nid]
        out.append(
            ConsulWarning(
                "warning",
                "network-missing-in-kv",
                f"Network {_network_label(n.name, nid)} is in Docker but not in Consul's KV store: "
                "the cluster store has lost it, so containers on other nodes cannot join it; "
                "remove the network and create it again.",
                network=n.name or nid,
            )
        )
    for nid in sorted(set(kv_by_id) - set(docker_global), key=lambda i: (kv_by_id[i].name, i)):
        n = kv_by_id[nid]
        marked = " (marked for deletion)" if n.in_delete else ""
        out.append(
            ConsulWarning(
                "warning",
                "network-missing-in-docker",
                f"Network {_network_label(n.name, nid)} is in Consul's KV store{marked} but Docker "
                "does not list it: it is probably left over from a failed removal and can block a "
                "new network on the same subnet; if no engine lists it, delete its keys under "
                f"docker/network/v1.0/ (network/{nid}/ and endpoint/{nid}/).",
                network=n.name or nid,
            )
        )
    return out


def check_consistency(
    agents: Iterable[ContainerInfo],
    nodes: Iterable[str],
    consul: ConsulSnapshot | CarinaError | None,
    docker_networks: Iterable[NetworkInfo] | None = None,
    kv_networks: Iterable[KVNetwork] | KVDecoded | None = None,
    unreachable: dict[str, float] | None = None,
) -> tuple[ConsulWarning, ...]:
    """Every warning about the cluster's Consul, most serious first.

    - ``agents``: the Consul agent containers (protected ``carina-svcd``), any state.
    - ``nodes``: the cluster's node names; a node with no running agent is warned about.
      Agent warnings are given only when the cluster uses Consul at all (an agent
      container exists, or ``consul`` is not None).
    - ``consul``: the snapshot, the error that stopped it, or None when not asked.
    - ``docker_networks`` and ``kv_networks``: compared (global scope only) when both
      are given and Consul answered; None means "not known", and then nothing is said.
    - ``unreachable``: nodes whose engine does not answer, and when it last did (0: unknown).
      Such a node is said to be unreachable; what its agent was is not judged.
    """
    agents = list(agents)
    nodes = list(nodes)
    warnings: list[ConsulWarning] = []
    down = dict(unreachable or {})
    for node, since in down.items():
        when = f" since {clock(since)}" if since else ""
        warnings.append(ConsulWarning(
            "error", "node-unreachable",
            f"{node} unreachable{when}: its engine does not answer; its containers and its Consul agent "
            "are shown as they were then, and refresh when it answers again.", node=node))

    if agents or consul is not None:
        warnings.extend(w for w in _agent_warnings(agents, nodes) if w.node not in down)

    if isinstance(consul, CarinaError):
        warnings.append(ConsulWarning("error", "consul-unreachable", str(consul)))
    elif isinstance(consul, ConsulSnapshot):
        if not consul.has_leader:
            warnings.append(ConsulWarning("error", "no-leader", f"{NO_LEADER}."))
        warned_nodes = {w.node for w in warnings if w.node}
        for m in consul.members:
            if m.status == "failed" and m.name not in warned_nodes:
                warnings.append(
                    ConsulWarning(
                        "warning",
                        "member-failed",
                        f"Consul member {m.name} ({m.addr}) has failed: its agent stopped answering "
                        "the others; start that node's agent, or remove the node with "
                        "`consul force-leave` if it is gone for good.",
                        node=m.name,
                    )
                )
        for _query, sentence in consul.problems:
            warnings.append(ConsulWarning("warning", "consul-partial", sentence))
        if docker_networks is not None and kv_networks is not None and not _kv_unknown(consul):
            kv_list = list(kv_networks.networks if isinstance(kv_networks, KVDecoded) else kv_networks)
            warnings.extend(_network_warnings(list(docker_networks), kv_list))

    warnings.sort(key=lambda w: (_SEVERITY_ORDER.get(w.severity, 9), _CODE_ORDER.get(w.code, 99), w.node, w.network))
    return tuple(warnings)


def _kv_unknown(snapshot: ConsulSnapshot) -> bool:
    """True when the KV listing failed, so an empty one means nothing."""
    return any(query == "kv" for query, _ in snapshot.problems)
