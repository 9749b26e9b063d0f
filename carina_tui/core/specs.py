"""What the user asked to create, after validation: input to the guard and the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from carina_tui.core.models import Pairs, PortBinding


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    name: str
    driver: str = "bridge"
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    attachable: bool = False
    internal: bool = False
    ipv6: bool = False
    labels: Pairs = ()
    options: Pairs = ()


@dataclass(frozen=True, slots=True)
class RunSpec:
    image: str
    name: str = ""
    networks: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    env: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    restart: str = "no"
    labels: Pairs = ()
    node: str = ""  # swarm node constraint: which engine of the cluster runs it
