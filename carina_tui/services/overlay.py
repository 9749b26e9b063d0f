"""Address use of a cluster's swarm networks, for the Networks pane and the checks before a
create or scale (``gateways.swarm_nodes.address_use``, ``address_shortfall``)."""

from __future__ import annotations

from typing import Iterable

from carina_tui.core.errors import CarinaError
from carina_tui.core.models import NetworkInfo
from carina_tui.core.overlay_addresses import AddressUse
from carina_tui.gateways import swarm_nodes


def address_uses(session, networks: Iterable[NetworkInfo]) -> dict[str, AddressUse]:
    """Network key -> its address use, for every swarm-scoped network with an IPv4 subnet (one
    verbose inspect per engine and network). A network no engine could be asked about is left out."""
    out: dict[str, AddressUse] = {}
    engines = list(session.gateways.values())
    for network in networks:
        if network.scope != "swarm" or not network.ipam:
            continue
        try:
            use = swarm_nodes.address_use(engines, network)
        except CarinaError:
            continue
        if use.capacity:
            out[network.key] = use
    return out


def address_shortfall(session, network: NetworkInfo, *, tasks: int, virtual_ip: bool = False,
                      on_nodes: Iterable[str] = (), what: str = "this change") -> str | None:
    """``gateways.swarm_nodes.address_shortfall`` on the session's engines: None, or the sentence
    saying the change would not fit in ``network``'s subnet."""
    return swarm_nodes.address_shortfall(session.gateways.values(), network, tasks=tasks, virtual_ip=virtual_ip,
                                         on_nodes=on_nodes, what=what)


def swarm_view(session) -> tuple[tuple, dict[str, AddressUse]]:
    """What the Swarm view shows: the swarm's nodes (as the first manager that answers lists them)
    and the address use of every swarm network (by network key). ``((), {})`` off a swarm."""
    for gateway in list(session.gateways.values()):
        try:
            if not gateway.info().is_manager:
                continue
            nodes, networks = gateway.nodes(), gateway.networks()
        except CarinaError:
            continue
        return tuple(nodes), address_uses(session, networks)
    return (), {}
