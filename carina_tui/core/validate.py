"""Validation of what a form holds, before any engine call.

Pure: every function takes the text a person typed (and what the console
already knows about the engine) and returns a spec, or raises
``ValidationError(sentence, field=...)`` naming the form field that is wrong.
The sentence says what is wrong and how to put it right.

Lists typed on one line: ports, aliases and networks are separated by commas or
spaces; environment variables, labels, driver options and the command are split
like a shell line (``A="two words" B=c``), so values may hold spaces.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Iterable

from carina_tui.core.errors import ValidationError
from carina_tui.core.models import (
    NO_ALIASES,
    NO_OWN_NETWORK,
    ContainerInfo,
    EngineInfo,
    NetworkInfo,
    Pairs,
    PortBinding,
)
from carina_tui.core.overlay_addresses import subnet_too_small
from carina_tui.core.specs import NetworkSpec, RunSpec

# Docker's own rule for container names (daemon/names): at least two characters.
CONTAINER_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
NETWORK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
ALIAS_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$")
PORT_RE = re.compile(r"^(?:(?:(?P<ip>[0-9.]+):)?(?P<host>\d+):)?(?P<container>\d+)(?:/(?P<proto>[a-z]+))?$")
NAME_MAX = 63
PROTOCOLS = ("tcp", "udp", "sctp")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# Drivers that name a built-in network rather than make a new one.
NOT_CREATABLE = frozenset({"host", "null"})


def split_list(text: str) -> list[str]:
    """``"a, b c"`` -> ``["a", "b", "c"]``."""
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


def split_words(text: str, field: str, what: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        raise ValidationError(
            f"The {what} has an unclosed quote; close it or remove it.", field=field
        ) from None


def _name_syntax(name: str, pattern: re.Pattern, what: str, count: str) -> None:
    if len(name) > NAME_MAX or not pattern.match(name):
        raise ValidationError(
            f'"{name}" is not a usable {what} name: use {count} letters, digits, ".", "_" or "-", '
            "starting with a letter or digit.",
            field="name",
        )


# -- networks ------------------------------------------------------------------------------


def network_name(name: str, existing: Iterable[NetworkInfo] = ()) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("Give the network a name.", field="name")
    _name_syntax(name, NETWORK_NAME_RE, "network", f"up to {NAME_MAX}")
    for net in existing:
        if net.name == name:
            raise ValidationError(f"A network named {name} already exists; choose another name.", field="name")
    return name


def subnet(text: str, field: str = "subnet") -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValidationError(
                f'"{text.strip()}" is not a subnet in CIDR notation, such as 10.10.0.0/24.', field=field
            ) from None
        raise ValidationError(
            f"{text.strip()} has host bits set: the subnet it lies in is {loose}.", field=field
        ) from None


def network_spec(
    *,
    name: str,
    driver: str = "bridge",
    subnet_text: str = "",
    gateway: str = "",
    ip_range: str = "",
    attachable: bool = False,
    internal: bool = False,
    ipv6: bool = False,
    labels: str = "",
    options: str = "",
    existing: Iterable[NetworkInfo] = (),
    engine: EngineInfo | None = None,
    qualify: bool = False,
) -> NetworkSpec:
    """The create-network form, checked. ``existing``: the networks the engine holds now;
    ``engine``: what the engine said about itself (drivers, swarm role); ``qualify``: the cluster
    has several engines, so a node's own network is named ``node/name`` as the console shows it."""
    existing = list(existing)
    name = network_name(name, existing)
    driver = (driver or "bridge").strip()
    if engine is not None and engine.drivers and driver not in engine.drivers:
        raise ValidationError(
            f"The engine has no network driver {driver!r}; it offers {', '.join(engine.drivers)}.", field="driver"
        )
    if driver in NOT_CREATABLE:
        raise ValidationError(
            f"The {driver} driver only serves Docker's built-in {'none' if driver == 'null' else driver} network; "
            "choose bridge or overlay.",
            field="driver",
        )
    if driver == "overlay" and engine is not None and not engine.is_manager:
        where = "is not part of a swarm" if engine.swarm_state != "active" else "is a swarm worker, not a manager"
        raise ValidationError(
            f"Overlay networks need a swarm manager, and this engine {where}: run `docker swarm init` "
            "on it (or choose a manager node), or choose the bridge driver.",
            field="driver",
        )
    if attachable and driver != "overlay":
        raise ValidationError(
            "Attachable only applies to overlay networks: untick it or choose the overlay driver.",
            field="attachable",
        )
    gateway, ip_range, subnet_text = gateway.strip(), ip_range.strip(), subnet_text.strip()
    if not subnet_text and (gateway or ip_range):
        raise ValidationError(
            "A gateway or IP range needs a subnet to lie in: give the subnet too.",
            field="subnet",
        )
    if subnet_text:
        net = subnet(subnet_text)
        too_small = subnet_too_small(str(net), name) if driver == "overlay" else None
        if too_small:
            raise ValidationError(too_small, field="subnet")
        if gateway:
            try:
                gw = ipaddress.ip_address(gateway)
            except ValueError:
                raise ValidationError(f'"{gateway}" is not an IP address.', field="gateway") from None
            if gw not in net:
                raise ValidationError(f"The gateway {gw} is not inside the subnet {net}.", field="gateway")
            if net.num_addresses > 2 and gw in (net.network_address, net.broadcast_address):
                raise ValidationError(
                    f"The gateway {gw} is the subnet's {'network' if gw == net.network_address else 'broadcast'} "
                    "address; choose a host address such as "
                    f"{net.network_address + 1}.",
                    field="gateway",
                )
        if ip_range:
            rng = subnet(ip_range, field="ip_range")
            if rng.version != net.version or not rng.subnet_of(net):  # type: ignore[arg-type]
                raise ValidationError(f"The IP range {rng} is not inside the subnet {net}.", field="ip_range")
        for other in existing:
            for cfg in other.ipam:
                if not cfg.subnet:
                    continue
                try:
                    theirs = ipaddress.ip_network(cfg.subnet, strict=False)
                except ValueError:
                    continue
                if theirs.version == net.version and theirs.overlaps(net):
                    raise ValidationError(
                        f"The subnet {net} overlaps {theirs} of network {other.display_name(qualify)}; "
                        "choose another range.",
                        field="subnet",
                    )
    return NetworkSpec(
        name=name,
        driver=driver,
        subnet=subnet_text,
        gateway=gateway,
        ip_range=ip_range,
        attachable=attachable,
        internal=internal,
        ipv6=ipv6,
        labels=key_values(labels, "labels", "labels"),
        options=key_values(options, "options", "driver options"),
    )


def key_values(text: str, field: str, what: str) -> Pairs:
    """``key=value`` entries separated by spaces, keys unique. A bare ``key`` (an empty value) is
    an entry only when it is the only one: among others (``bad label``, ``a b=1``, ``a=1 b``) it is
    a key or a value with a space in it, which is refused rather than split into several entries."""
    words = split_words(text, field, what)
    seen: dict[str, str] = {}
    for word in words:
        key, _, value = word.partition("=")
        if not LABEL_KEY_RE.match(key):
            raise ValidationError(
                f'"{word}" is not a usable entry for the {what}: write key=value, the key made of letters, digits, '
                '".", "_", "/" or "-".',
                field=field,
            )
        if key in seen:
            raise ValidationError(f"The key {key} appears twice in the {what}; keep one.", field=field)
        seen[key] = value
    if len(words) > 1 and any("=" not in word for word in words):
        raise ValidationError(
            f'"{_spaced_entry(words)}" in the {what} holds a space: write key=value or a lone key per entry, '
            'entries separated by spaces; a key cannot hold a space, and a value that does is quoted, as '
            'team="web ops".',
            field=field,
        )
    return tuple(sorted(seen.items()))


def _spaced_entry(words: list[str]) -> str:
    """The words around the first bare key: the run of bare keys (``bad label``), or a lone one with
    the entry it leans on (``a b=1``: a key with a space; ``a=1 b``: a value with a space)."""
    first = next(i for i, word in enumerate(words) if "=" not in word)
    last = first
    while last + 1 < len(words) and "=" not in words[last + 1]:
        last += 1
    if last == first:
        first, last = (first, first + 1) if last + 1 < len(words) else (first - 1, first)
    return " ".join(words[first:last + 1])


# -- containers ----------------------------------------------------------------------------


def container_name(name: str, existing: Iterable[ContainerInfo] = ()) -> str:
    name = name.strip().lstrip("/")
    if not name:
        return ""
    _name_syntax(name, CONTAINER_NAME_RE, "container", "two or more")
    for c in existing:
        if c.name == name:
            where = f" on {c.node}" if c.node else ""
            raise ValidationError(
                f"A container named {name} already exists{where} ({c.state}); choose another name or remove it first.",
                field="name",
            )
    return name


def ports(text: str, existing: Iterable[ContainerInfo] = ()) -> tuple[PortBinding, ...]:
    """``8080:80``, ``80``, ``53/udp``, ``127.0.0.1:8080:80/tcp``; host ports unique and free."""
    out: list[PortBinding] = []
    for word in split_list(text):
        m = PORT_RE.match(word)
        if m is None:
            raise ValidationError(
                f'"{word}" is not a port mapping: write host:container, such as 8080:80, optionally with /tcp or /udp.',
                field="ports",
            )
        proto = m["proto"] or "tcp"
        if proto not in PROTOCOLS:
            raise ValidationError(
                f'"{word}": the protocol must be one of {", ".join(PROTOCOLS)}, not {proto}.', field="ports"
            )
        numbers = [int(m["container"])] + ([int(m["host"])] if m["host"] else [])
        for n in numbers:
            if not 1 <= n <= 65535:
                raise ValidationError(f'"{word}": port {n} is outside 1-65535.', field="ports")
        host_ip = m["ip"] or ""
        if host_ip:
            try:
                ipaddress.IPv4Address(host_ip)
            except ValueError:
                raise ValidationError(f'"{word}": {host_ip} is not an IPv4 address.', field="ports") from None
        binding = PortBinding(int(m["container"]), proto, host_ip, int(m["host"]) if m["host"] else None)
        for prior in out:
            if binding.host_port is not None and (prior.host_port, prior.protocol) == (binding.host_port, proto):
                raise ValidationError(
                    f"Host port {binding.host_port}/{proto} is mapped twice; map it once.", field="ports"
                )
            if (prior.container_port, prior.protocol, prior.host_port) == (
                binding.container_port, proto, binding.host_port
            ):
                raise ValidationError(f'"{word}" is given twice; give it once.', field="ports")
        out.append(binding)
    for c in existing:
        if not c.running:
            continue
        for theirs in c.ports:
            for mine in out:
                if mine.host_port is not None and (theirs.host_port, theirs.protocol) == (
                    mine.host_port, mine.protocol
                ):
                    raise ValidationError(
                        f"Host port {mine.host_port}/{mine.protocol} is already published by {c.qualified_name}; "
                        "choose another host port.",
                        field="ports",
                    )
    return tuple(out)


def environment(text: str) -> tuple[str, ...]:
    out: list[str] = []
    seen: set[str] = set()
    for word in split_words(text, "env", "environment"):
        key, eq, _ = word.partition("=")
        if not eq or not ENV_KEY_RE.match(key):
            raise ValidationError(
                f'"{word}" is not an environment variable: write KEY=value, the key made of letters, digits and "_", '
                "not starting with a digit.",
                field="env",
            )
        if key in seen:
            raise ValidationError(f"The variable {key} is set twice; keep one.", field="env")
        seen.add(key)
        out.append(word)
    return tuple(out)


def aliases(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in split_list(text):
        if len(word) > NAME_MAX or not ALIAS_RE.match(word):
            raise ValidationError(
                f'"{word}" is not a usable alias: use letters, digits, ".", "_" or "-", starting and ending with a '
                "letter or digit.",
                field="aliases",
            )
        if word not in out:
            out.append(word)
    return tuple(out)


def static_ipv4(text: str, network: NetworkInfo | None) -> str:
    """A fixed IPv4 address for a container on ``network``: inside its subnet, not its gateway."""
    text = text.strip()
    if not text:
        return ""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValidationError(f'"{text}" is not an IPv4 address such as 10.10.0.5.', field="ipv4") from None
    if network is None:
        return text
    subnets = []
    for cfg in network.ipam:
        try:
            net = ipaddress.ip_network(cfg.subnet, strict=False)
        except ValueError:
            continue
        if net.version == 4:
            subnets.append((net, cfg.gateway))
    if not subnets:
        raise ValidationError(
            f"Network {network.name} has no IPv4 subnet of its own, so a fixed address cannot be given; "
            "leave the address empty.",
            field="ipv4",
        )
    for net, gateway in subnets:
        if address in net:
            if gateway and address == ipaddress.ip_address(gateway.split("/")[0]):
                raise ValidationError(
                    f"{address} is the gateway of network {network.name}; choose another address.", field="ipv4"
                )
            if net.num_addresses > 2 and address in (net.network_address, net.broadcast_address):
                raise ValidationError(
                    f"{address} is not a host address of {net}; choose another address.", field="ipv4"
                )
            return text
    inside = ", ".join(str(n) for n, _ in subnets)
    raise ValidationError(f"{address} is not inside the subnet of network {network.name} ({inside}).", field="ipv4")


def run_spec(
    *,
    image: str,
    name: str = "",
    networks: Iterable[str] = (),
    ports_text: str = "",
    env: str = "",
    command: str = "",
    restart: str = "no",
    labels: str = "",
    node: str = "",
    aliases_text: str = "",
    images: Iterable[str] | None = None,
    existing: Iterable[ContainerInfo] = (),
) -> RunSpec:
    """The run form, checked. ``images``: the tags the chosen engine holds (None: not known);
    ``existing``: the containers of the cluster now, for name clashes and busy host ports."""
    existing = list(existing)
    image = image.strip()
    if not image:
        raise ValidationError("Choose an image to run.", field="image")
    if images is not None:
        known = set(images)
        if image not in known and f"{image}:latest" not in known:
            raise ValidationError(
                f"The image {image} is not on this engine, and images cannot be pulled here: "
                "load it with `docker load` or `docker import`, or choose a local one.",
                field="image",
            )
    if restart not in RESTART_POLICIES:
        raise ValidationError(
            f"Restart policy {restart!r} is not one of {', '.join(RESTART_POLICIES)}.", field="restart"
        )
    nets = tuple(dict.fromkeys(n for n in networks if n))
    if NO_OWN_NETWORK & set(nets) and len(nets) > 1:
        raise ValidationError(
            "A container on the host or none network cannot join other networks; choose that one alone.",
            field="networks",
        )
    found_aliases = aliases(aliases_text)
    if found_aliases and (not nets or nets[0] in NO_ALIASES):
        raise ValidationError(
            "Aliases need a user-defined network: choose one (the first chosen gets the aliases).", field="aliases"
        )
    found_ports = ports(ports_text, [c for c in existing if not node or c.node == node or c.endpoint == node])
    if found_ports and nets and nets[0] in NO_OWN_NETWORK:
        raise ValidationError(
            f"Ports cannot be published from a container on the {nets[0]} network; remove them or choose "
            "another network.",
            field="ports",
        )
    return RunSpec(
        image=image,
        name=container_name(name, existing),
        networks=nets,
        aliases=found_aliases,
        ports=found_ports,
        env=environment(env),
        command=tuple(split_words(command, "command", "command")),
        restart=restart,
        labels=key_values(labels, "labels", "labels"),
        node=node,
    )
