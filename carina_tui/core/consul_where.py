"""Where a Consul agent answers. Pure: decided from what the config and Docker already said.

In order: the cluster config's ``consul = "http://host:8500"``; else the agent
container's published 8500/tcp (on the engine's host when it is published on
all interfaces); else, for an agent on the host network (as Carina ran
``carina-svcd``), the engine's host on 8500; else the container's own address.
"""

from __future__ import annotations

from carina_tui.core.endpoints import BadEndpoint, parse_endpoint
from carina_tui.core.models import ContainerInfo

CONSUL_HTTP_PORT = 8500
_ANY = ("", "0.0.0.0", "::", "[::]")


def _http(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def engine_host(endpoint: str) -> str:
    """The host of an engine address (``tcp://10.0.0.11:2376`` -> ``10.0.0.11``); a socket -> 127.0.0.1."""
    try:
        parsed = parse_endpoint(endpoint)
    except BadEndpoint:
        return ""
    if parsed.scheme == "unix":
        return "127.0.0.1"
    return parsed.host


def consul_address(configured: str, agent: ContainerInfo | None, endpoint: str = "") -> str | None:
    """The URL to give ``ConsulGateway`` for one agent, or None when nothing says where.

    ``endpoint`` is the engine the agent runs on (``agent.endpoint`` when empty).
    """
    if configured.strip():
        return configured.strip()
    if agent is None:
        return None
    host = engine_host(endpoint or agent.endpoint)
    for port in agent.ports:
        if port.container_port == CONSUL_HTTP_PORT and port.protocol == "tcp" and port.host_port:
            if port.host_ip not in _ANY:
                return _http(port.host_ip, port.host_port)
            if host:
                return _http(host, port.host_port)
    networks = {n.network for n in agent.networks}
    if "host" in networks and host:
        return _http(host, CONSUL_HTTP_PORT)
    for attachment in agent.networks:
        if attachment.ipv4:
            return _http(attachment.ipv4.split("/", 1)[0], CONSUL_HTTP_PORT)
    return None
