"""Address use of a cluster's swarm networks, for the Networks pane and the checks before a
create or scale (``gateways.swarm_nodes.address_use``, ``address_shortfall``).

``check_create``/``check_scale`` run in the worker of the form that asks (never on the UI thread)
before the guard is called: a change that would not fit in a network's subnet raises
``AddressesShort`` with the sentence, and the engine is never asked (Swarm would accept it and
leave the tasks pending with "could not find an available IP", moby #43052)."""

from __future__ import annotations

from typing import Iterable

from carina_tui.core.errors import AddressesShort, CarinaError
from carina_tui.core.models import NetworkInfo
from carina_tui.core.overlay_addresses import AddressUse, may_run_on
from carina_tui.core.swarm_models import ServiceInfo, ServicePort, ServiceSpec
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


INGRESS = "ingress"  # the swarm's routing mesh: a task with a port published in ingress mode takes an address there


def _attached(manager, names: Iterable[str], ports: Iterable[ServicePort]) -> list[NetworkInfo]:
    """The swarm networks a service attaches to (by name or id, as a spec or a service names them),
    and the ingress network when it publishes a port through the routing mesh."""
    wanted = set(names)
    if any(p.published is not None and p.mode == "ingress" for p in ports):
        wanted.add(INGRESS)
    if not wanted:
        return []
    return [n for n in manager.networks() if n.scope == "swarm" and (n.name in wanted or n.id in wanted)]


def _check(session, networks: list[NetworkInfo], *, tasks: int, vip: bool, on_nodes, what: str) -> None:
    for network in sorted(networks, key=lambda n: n.name):
        sentence = address_shortfall(session, network, tasks=tasks, on_nodes=on_nodes, what=what,
                                     virtual_ip=vip or network.name == INGRESS)
        if sentence:
            raise AddressesShort(sentence)


def check_create(session, spec: ServiceSpec) -> None:
    """Before creating ``spec``: raise ``AddressesShort`` when its tasks (a global service's: one on
    every node it may run on), its virtual IP (endpoint mode ``vip``) and the load balancers of the
    nodes new to a network would not fit in the free addresses of a network it attaches to."""
    manager = session.swarm.manager()
    networks = _attached(manager, spec.networks, spec.ports)
    if not networks:
        return
    on_nodes = may_run_on(manager.nodes(), spec.constraints)
    tasks = len(on_nodes) if spec.mode == "global" else spec.replicas
    _check(session, networks, tasks=tasks, vip=spec.endpoint_mode == "vip", on_nodes=on_nodes,
           what=f"creating service {spec.name}")


def check_scale(session, service: ServiceInfo, replicas: int) -> None:
    """Before scaling ``service`` to ``replicas``: raise ``AddressesShort`` when the tasks added (on a
    fresh look at the service) and the load balancers of nodes new to a network would not fit."""
    manager = session.swarm.manager()
    fresh = manager.service(service.id)
    more = replicas - (fresh.replicas or 0)
    if fresh.mode != "replicated" or more <= 0:
        return
    networks = _attached(manager, fresh.networks, fresh.ports)
    if networks:
        _check(session, networks, tasks=more, vip=False, on_nodes=may_run_on(manager.nodes(), fresh.constraints),
               what=f"scaling {fresh.name} to {replicas}")
