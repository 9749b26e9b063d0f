"""Swarm nodes, the tasks they run, and when draining one is refused (pure: no client).

The node list itself is ``core.models.NodeInfo``; this module adds what drain and
activate need: the tasks a node runs (``NodeTask``), the node as the audit log names
it (``NodeTarget``), and the two refusals the guard makes
(``last_active_manager``, ``protected_task``).

Drain stops the node's swarm tasks and starts them elsewhere; containers started
with ``docker run`` (the Consul agent ``carina-svcd`` is one) are not touched by it.
So a node is refused for a protected container only when drain would stop it: a
running task container (its name, image or labels, or its service's name or
labels, match a protection rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from carina_tui.core.models import ContainerInfo, NodeInfo, Pairs
from carina_tui.core.rules import Rule, matching_rule

AVAILABILITIES = ("active", "pause", "drain")

# The labels Swarm puts on every task container: one that has them is a task's container.
TASK_LABEL = "com.docker.swarm.task.id"
SERVICE_LABEL = "com.docker.swarm.service.name"
TASK_NAME_LABEL = "com.docker.swarm.task.name"
NODE_LABEL = "com.docker.swarm.node.id"


def task_of(c: ContainerInfo) -> str:
    """The swarm task id a container was made for, or "" (a plain container)."""
    return c.label_map.get(TASK_LABEL, "")


@dataclass(frozen=True, slots=True)
class NodeTask:
    """A task a manager says a node runs (or is to run)."""

    id: str
    service: str  # the service's name
    slot: int = 0
    image: str = ""
    state: str = ""  # current state: running, shutdown, failed ...
    desired_state: str = ""
    container_id: str = ""
    labels: Pairs = ()  # the container's labels (ContainerSpec.Labels)
    service_labels: Pairs = ()
    node: str = ""  # the node's hostname

    @property
    def container_name(self) -> str:
        """The name Swarm gives the task's container: ``service.slot.task`` (``service.node.task``
        for a global service, which has no slot)."""
        return f"{self.service}.{self.slot or self.node}.{self.id}"

    def as_containers(self) -> tuple[ContainerInfo, ...]:
        """The task as the protection rules see it: its container, and its service (named by the
        service's name, with the service's labels)."""
        container = ContainerInfo(id=self.container_id, name=self.container_name, state=self.state,
                                  image=self.image, node=self.node,
                                  labels=tuple(sorted({*self.labels, (TASK_LABEL, self.id),
                                                       (SERVICE_LABEL, self.service)})))
        service = ContainerInfo(id=self.container_id, name=self.service, state=self.state, image=self.image,
                                node=self.node, labels=self.service_labels)
        return container, service


@dataclass(frozen=True, slots=True)
class NodeTarget:
    """A node as the guard audits it: ``id``, ``name`` (the hostname), the manager it was asked on."""

    id: str
    name: str
    endpoint: str = ""


def last_active_manager(node: NodeInfo, nodes: Iterable[NodeInfo]) -> str | None:
    """Why draining ``node`` is refused because it is the swarm's last active manager, or None.

    Drain on a manager only moves its tasks, but a swarm whose every manager is drained (or
    paused) schedules on workers alone and, with the last one down, can no longer be steered
    from a manager that runs anything: at least one manager stays active and ready.
    """
    if node.role != "manager":
        return None
    others = [n for n in nodes if n.id != node.id and n.role == "manager"
              and n.availability == "active" and n.status == "ready"
              and n.manager_reachability != "unreachable"]
    if others:
        return None
    return (f"Node {node.hostname} is the swarm's last active manager: draining it is refused, a swarm "
            "needs one manager that is active and ready. Promote or activate another manager first.")


def protected_task(tasks: Iterable[NodeTask], rules: Iterable[Rule]) -> tuple[NodeTask, Rule] | None:
    """The first running task whose container or service a rule protects, and that rule."""
    rules = tuple(rules)
    for task in tasks:
        if task.desired_state != "running":
            continue
        for probe in task.as_containers():
            rule = matching_rule(probe, rules)
            if rule is not None:
                return task, rule
    return None


def protected_task_sentence(node: NodeInfo, task: NodeTask, rule: Rule) -> str:
    return (f"Node {node.hostname} runs the protected container {task.container_name} (service "
            f"{task.service}, rule {rule.describe()}): draining it would stop that container, so it is "
            "refused. Move or scale that service off the node first.")


def availability_sentence(node: NodeInfo, availability: str) -> str:
    """What the engine holds after a drain or activate, in words."""
    if availability == "drain":
        return (f"Node {node.hostname} is drained: its tasks are being moved to other nodes, "
                "and nothing new is scheduled there.")
    return f"Node {node.hostname} is {availability}: it takes tasks again."
