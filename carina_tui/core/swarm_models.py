"""Frozen dataclasses for Swarm services and their tasks (what pane 5 and ``carina-tui services`` show),
and the spec of a service to create.

The gateway (``gateways/swarm_gateway.py``) builds them from a manager's answers. A service answers to
the protection rules as a container does: ``name``, ``image_names`` and ``labels`` (the service's and
its containers' labels together), so ``core.rules`` judges both alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from carina_tui.core.models import Pairs, age

MODES = ("replicated", "global")
ENDPOINT_MODES = ("dnsrr", "vip")
# Where no IPVS is (the sandbox, many small hosts), a virtual IP cannot balance: DNS round robin can.
DEFAULT_ENDPOINT_MODE = "dnsrr"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """A published port: ``published`` on the nodes (``mode`` ingress: every node, host: where a task runs)."""

    target: int
    published: int | None = None
    protocol: str = "tcp"
    mode: str = "ingress"

    def __str__(self) -> str:
        inner = f"{self.target}/{self.protocol}"
        if self.published is None:
            return inner
        host = " (host)" if self.mode == "host" else ""
        return f"{self.published}->{inner}{host}"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    id: str
    name: str
    mode: str  # replicated | global
    image: str
    running: int = 0
    desired: int = 0
    replicas: int | None = None  # the replicated service's asked-for count (None: global)
    ports: tuple[ServicePort, ...] = ()
    networks: tuple[str, ...] = ()
    endpoint_mode: str = ""
    labels: Pairs = ()  # the service's labels and its containers' labels
    constraints: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    created: float = 0.0
    updated: float = 0.0
    update_state: str = ""  # updating | completed | paused | rollback_... | "" (never updated)
    update_message: str = ""
    version: int = 0
    endpoint: str = ""  # the manager's endpoint it was read from

    @property
    def key(self) -> str:
        return self.id

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def qualified_name(self) -> str:
        """What the audit log and the sentences call it."""
        return f"service {self.name}"

    @property
    def image_names(self) -> tuple[str, ...]:
        """The image as the spec holds it (``busybox:latest@sha256:...`` once resolved), then without its digest."""
        plain = self.image.split("@", 1)[0]
        return (self.image,) if plain == self.image else (self.image, plain)

    @property
    def plain_image(self) -> str:
        return self.image.split("@", 1)[0]

    @property
    def replicas_text(self) -> str:
        return f"{self.running}/{self.desired}"

    @property
    def ports_text(self) -> str:
        return ", ".join(str(p) for p in self.ports)

    @property
    def networks_text(self) -> str:
        return ", ".join(self.networks)

    @property
    def update_paused(self) -> bool:
        """A rollout (or its rollback) Swarm paused: ``update_message`` says why (a task failed...)."""
        return self.update_state in ("paused", "rollback_paused")

    @property
    def paused_sentence(self) -> str:
        what = "Its rollback" if self.update_state.startswith("rollback") else "Its update"
        why = self.update_message or "the engine gives no reason"
        return f"{what} is paused: {why}."

    def update_text(self, now: float | None = None, *, coarse: bool = False) -> str:
        """``updating``, ``completed 3m``, ``created 2h``: what happened to it last, and how long ago."""
        if self.update_state == "updating":
            return "updating"
        when = self.updated or self.created
        what = self.update_state.replace("_", " ") if self.update_state else ("updated" if self.updated > self.created + 1 else "created")
        return f"{what} {age(when, now, coarse=coarse)}" if when else what


@dataclass(frozen=True, slots=True)
class TaskInfo:
    id: str
    service_id: str
    name: str  # service.slot (replicated) or service.node (global), as ``docker service ps``
    slot: int = 0
    node_id: str = ""
    node: str = ""  # the node's hostname ("" when the task has none yet, or its node left)
    state: str = ""  # new | pending | assigned | ... | running | complete | failed | shutdown | rejected ...
    desired_state: str = ""  # running | shutdown | ready ...
    error: str = ""
    message: str = ""
    container_id: str = ""
    image: str = ""
    created: float = 0.0
    updated: float = 0.0  # when its state last changed

    @property
    def key(self) -> str:
        return self.id

    @property
    def current(self) -> bool:
        """One of the service's current tasks (Swarm wants it running); else history Swarm keeps."""
        return self.desired_state in ("running", "ready", "accepted")

    @property
    def short_container(self) -> str:
        return self.container_id[:12]

    def state_text(self, now: float | None = None) -> str:
        """``running 3m``, as ``docker service ps`` says "Running 3 minutes ago"."""
        return f"{self.state} {age(self.updated, now)}" if self.updated else self.state


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service to create, after validation (``core.swarm_validate.service_spec``)."""

    name: str
    image: str
    mode: str = "replicated"
    replicas: int = 1
    networks: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    env: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    endpoint_mode: str = DEFAULT_ENDPOINT_MODE
    command: tuple[str, ...] = ()
    labels: Pairs = ()
