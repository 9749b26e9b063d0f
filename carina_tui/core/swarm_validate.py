"""The service forms (create, scale, update image), checked before any engine call.

Pure: raises ``ValidationError(sentence, field)`` naming the form field. Reuses the container
forms' checks (``core.validate``) for ports, environment and labels.
"""

from __future__ import annotations

import re
from typing import Iterable

from carina_tui.core import validate
from carina_tui.core.errors import ValidationError, clip
from carina_tui.core.swarm_models import ENDPOINT_MODES, MODES, ServiceInfo, ServicePort, ServiceSpec

# Swarm's own rule for a service name (it is a DNS name on the service's networks).
SERVICE_NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$")
CONSTRAINT_RE = re.compile(r"^[A-Za-z0-9_.\-]+\s*(==|!=)\s*\S.*$")
MAX_REPLICAS = 10_000


def service_name(name: str, existing: Iterable[ServiceInfo] = ()) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("Give the service a name: it is how tasks on its networks find it.", field="name")
    if len(name) > validate.NAME_MAX or not SERVICE_NAME_RE.match(name):
        raise ValidationError(
            f'"{clip(name)}" is not a usable service name: use up to {validate.NAME_MAX} letters, digits, "-" or "_", '
            "starting and ending with a letter or digit.", field="name")
    for s in existing:
        if s.name == name:
            raise ValidationError(f"A service named {name} already exists ({s.mode}, {s.replicas_text} running); "
                                  "choose another name or remove it first.", field="name")
    return name


def replicas(text: str, field: str = "replicas") -> int:
    text = text.strip()
    if not text.isdigit() or int(text) > MAX_REPLICAS:
        raise ValidationError(f'"{clip(text)}" is not a replica count: give a whole number from 0 to {MAX_REPLICAS:,}.',
                              field=field)
    return int(text)


def image(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError("Give an image, such as busybox:latest.", field="image")
    if any(c.isspace() for c in text):
        raise ValidationError(f'"{clip(text)}" is not an image name: it holds a space.', field="image")
    return text


def constraints(text: str) -> tuple[str, ...]:
    """``node.hostname==sandbox-n1, node.role!=manager``: each ``attribute==value`` or ``!=``."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not CONSTRAINT_RE.match(part):
            raise ValidationError(
                f'"{clip(part)}" is not a placement constraint: write attribute==value or attribute!=value, such as '
                "node.hostname==sandbox-n1; separate several with commas.", field="constraints")
        out.append(re.sub(r"\s*(==|!=)\s*", r"\1", part))
    return tuple(dict.fromkeys(out))


def service_ports(text: str, endpoint_mode: str) -> tuple[ServicePort, ...]:
    """``8080:80``, ``53/udp``: published on the nodes. With DNS round robin (dnsrr) the routing mesh
    cannot be used, so a port is published on the node where each task runs (host mode)."""
    found = []
    for p in validate.ports(text):
        if p.host_ip:
            raise ValidationError(f'"{p.host_ip}:{p.host_port}:{p.container_port}": a service publishes on every '
                                  "address of its nodes; leave the address out.", field="ports")
        found.append(ServicePort(p.container_port, p.host_port, p.protocol,
                                 "host" if endpoint_mode == "dnsrr" else "ingress"))
    return tuple(found)


def service_spec(*, name: str, image_text: str, mode: str = "replicated", replicas_text: str = "1",
                 networks: Iterable[str] = (), ports_text: str = "", env: str = "", constraints_text: str = "",
                 endpoint_mode: str = "dnsrr", command: str = "", labels: str = "",
                 existing: Iterable[ServiceInfo] = ()) -> ServiceSpec:
    """The create form, checked. ``existing``: the swarm's services now (for a name clash)."""
    if mode not in MODES:
        raise ValidationError(f"Mode {mode!r} is not one of {', '.join(MODES)}.", field="mode")
    if endpoint_mode not in ENDPOINT_MODES:
        raise ValidationError(f"Endpoint mode {endpoint_mode!r} is not one of {', '.join(ENDPOINT_MODES)}.",
                              field="endpoint_mode")
    return ServiceSpec(
        name=service_name(name, existing),
        image=image(image_text),
        mode=mode,
        replicas=replicas(replicas_text) if mode == "replicated" else 0,
        networks=tuple(dict.fromkeys(n for n in networks if n)),
        ports=service_ports(ports_text, endpoint_mode),
        env=validate.environment(env),
        constraints=constraints(constraints_text),
        endpoint_mode=endpoint_mode,
        command=tuple(validate.split_words(command, "command", "command")),
        labels=validate.key_values(labels, "labels", "labels"),
    )
