"""The protection guard: the one door every mutating docker call goes through.

It decides, and nothing else does:
- read-only mode refuses every mutation;
- a container matched by a protection rule may be started (and unpaused), never
  removed, stopped, killed, paused, restarted, renamed, updated, exec'd into or
  disconnected from a network; a shell may be opened in it only once the user
  confirmed the rule that protects it (``open_shell(confirmed=rule)``);
- the predefined networks are never removed;
- an image or a volume a protected container uses, running or stopped, is never
  removed (an image: the container on any engine uses it or names it by id, tag or
  digest), and neither is one any container of its engine uses.

Each decision is made on a fresh inspect of the target, not on what a screen
showed a moment ago, and a bulk removal decides each container on its own
inspect made just before its removal. Every attempt, refused or done, is written
to the audit log, which is opened before acting: when it cannot be written,
nothing is done. A removal the engine took but never answered is not sent again:
the guard looks and reports what happened. Only this module issues the permits
that the gateway's mutating methods demand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, TypeVar

from carina_tui.core.audit import AuditEntry, AuditHandle, AuditLog
from carina_tui.core.errors import (AuditUnwritable, CarinaError, EngineUnreachable, NotFound, Refused,
                                   Unanswered, ValidationError)
from carina_tui.core.models import ContainerDetail, ContainerInfo, NetworkDetail, NetworkInfo, NodeInfo
from carina_tui.core.permit import issue
from carina_tui.core.rules import DEFAULT_RULES, Rule, matching_rule
from carina_tui.core.storage_models import Image, Stored, with_users
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.gateways.exec_gateway import ExecShell

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.core.specs import NetworkSpec, RunSpec
    from carina_tui.core.swarm_models import ServiceInfo, ServiceSpec
    from carina_tui.core.swarm_nodes import NodeTarget

T = TypeVar("T")

STOPPED_BEFORE = "the cleanup was stopped before it got to it"

# Container actions the guard allows on a protected container.
ALLOWED_ON_PROTECTED = frozenset({"container.start", "container.unpause", "container.run", "network.connect"})

# A shell in a protected container (issue 16): allowed once the user confirmed the rule that protects it.
CONFIRMED_ON_PROTECTED = frozenset({"container.exec"})

# After an unanswered removal, how long an engine that answers again is given to carry it out.
REMOVAL_SETTLE = 2.0

CONTAINER_ACTIONS = {
    "container.start": ("start", DockerGateway.start_container),
    "container.stop": ("stop", DockerGateway.stop_container),
    "container.restart": ("restart", DockerGateway.restart_container),
    "container.kill": ("kill", DockerGateway.kill_container),
    "container.pause": ("pause", DockerGateway.pause_container),
    "container.unpause": ("unpause", DockerGateway.unpause_container),
    "container.rename": ("rename", DockerGateway.rename_container),
    "container.update": ("update", DockerGateway.update_container),
    "container.remove": ("remove", DockerGateway.remove_container),
    "container.exec": ("run a command in", DockerGateway.exec_run),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one item of a bulk action (cleanup, prune)."""

    id: str
    name: str
    result: str  # removed | skipped | failed
    reason: str = ""
    node: str = ""

    @property
    def plain_name(self) -> str:
        """The name without its ``node/`` prefix."""
        prefix = f"{self.node}/"
        return self.name[len(prefix):] if self.node and self.name.startswith(prefix) else self.name


@dataclass(frozen=True, slots=True)
class Acted:
    """What a container action did, as the engine tells it right after: what a screen says."""

    before: ContainerInfo  # the fresh look the guard decided on
    after: ContainerDetail | None  # a fresh look after the call; None when the container is gone


def _removal_action(target) -> str:
    return {Image: "image.remove", ContainerInfo: "container.remove"}.get(type(target), "volume.remove")


class Guard:
    def __init__(
        self,
        gateways: Mapping[str, DockerGateway],
        *,
        rules: Iterable[Rule] = DEFAULT_RULES,
        read_only: bool = False,
        audit: AuditLog | None = None,
        cluster: str = "",
    ) -> None:
        self._gateways = gateways
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.read_only = read_only
        self.audit = audit if audit is not None else AuditLog()
        self.cluster = cluster

    # -- classification (pure, used by every pane) ----------------------------------

    def classify(self, container: ContainerInfo) -> Rule | None:
        """The rule protecting ``container``, or None."""
        return matching_rule(container, self.rules)

    def would_refuse(self, action: str, container: ContainerInfo | None = None, *,
                     confirmed: Rule | None = None) -> str | None:
        """Why ``action`` would be refused (a sentence), judged on what we know now.

        A screen uses it to say no at once; the guard still decides again on a
        fresh inspect when the action is attempted.
        """
        if self.read_only:
            return self._read_only_sentence(action)
        if container is not None and action not in ALLOWED_ON_PROTECTED:
            rule = self.classify(container)
            if rule is not None and not self._confirmed(action, rule, confirmed):
                return self._protected_sentence(action, container, rule)
        return None

    def would_refuse_network(self, action: str, network: NetworkInfo,
                             attached: Iterable[ContainerInfo] = ()) -> str | None:
        """The same for a network action, given the containers known to be attached."""
        if self.read_only:
            return self._read_only_sentence(action)
        if action in ("network.remove", "network.prune"):
            if network.predefined:
                return self._predefined_sentence(network)
            for c in attached:
                rule = self.classify(c)
                if rule is not None:
                    return self._protected_network_sentence(network, c, rule)
        return None

    # -- container actions ------------------------------------------------------------

    def container_action(self, action: str, target: ContainerInfo, *args, **kwargs):
        """Run one container action (``container.stop`` ...) after a fresh check."""
        return self._container_action(action, target, *args, **kwargs)[1]

    def act(self, action: str, target: ContainerInfo, *, settle: float = 0.0, **kwargs) -> Acted:
        """``container_action``, then a fresh look at the container (``settle``: see
        ``DockerGateway.settled``), so that what the console says is what the engine holds."""
        fresh, _ = self._container_action(action, target, **kwargs)
        if action == "container.remove":
            return Acted(fresh, None)
        try:
            after = self._gateway(target.endpoint).settled(fresh.id, settle)
        except NotFound:
            after = None
        return Acted(fresh, after)

    def _container_action(self, action: str, target: ContainerInfo, *args, **kwargs) -> tuple[ContainerInfo, object]:
        if action not in CONTAINER_ACTIONS:
            raise Refused(f"{action} is not an action carina-tui knows; nothing was done.")
        verb, method = CONTAINER_ACTIONS[action]
        gateway = self._gateway(target.endpoint)
        fresh = self._fresh(gateway, action, target)
        self._check(action, fresh)
        if action == "container.remove":
            return fresh, self._run(action, fresh, lambda: self._removal(gateway, fresh, *args, **kwargs))
        return fresh, self._run(action, fresh,
                                lambda: method(gateway, issue(action, fresh.id), fresh.id, *args, **kwargs))

    def start(self, c: ContainerInfo) -> None:
        self.container_action("container.start", c)

    def stop(self, c: ContainerInfo) -> None:
        self.container_action("container.stop", c)

    def restart(self, c: ContainerInfo) -> None:
        self.container_action("container.restart", c)

    def kill(self, c: ContainerInfo, signal: str = "KILL") -> None:
        self.container_action("container.kill", c, signal=signal)

    def pause(self, c: ContainerInfo) -> None:
        self.container_action("container.pause", c)

    def unpause(self, c: ContainerInfo) -> None:
        self.container_action("container.unpause", c)

    def rename(self, c: ContainerInfo, name: str) -> None:
        self.container_action("container.rename", c, name)

    def update(self, c: ContainerInfo, **changes) -> None:
        self.container_action("container.update", c, **changes)

    def remove(self, c: ContainerInfo, *, force: bool = False, volumes: bool = False) -> None:
        self.container_action("container.remove", c, force=force, volumes=volumes)

    def exec_run(self, c: ContainerInfo, cmd: list[str]) -> tuple[int, str]:
        return self.container_action("container.exec", c, cmd)

    # -- a shell in a container (issue 16) -------------------------------------------------

    def open_shell(self, c: ContainerInfo, command: tuple[str, ...] | None, rows: int, cols: int, *,
                   term: str = "", confirmed: Rule | None = None) -> ExecShell:
        """``command`` (None: the container's own shell, ``/bin/bash`` if there, else ``/bin/sh``) with a
        TTY in ``c``, after a fresh look: refused read-only; in a protected container only when
        ``confirmed`` is the rule the user was shown and it is still the one that protects it.
        Audited with the command (the line names the rule that was let through)."""
        action = "container.exec"
        gateway = self._gateway(c.endpoint)
        fresh = self._fresh(gateway, action, c)
        self._check(action, fresh, confirmed=confirmed)
        try:
            argv = command or (gateway.shell_for(fresh.id),)
        except CarinaError as err:
            self._audit(action, fresh, "failed", error=str(err))
            raise
        rule = self.classify(fresh)
        return self._run(action, fresh, lambda: gateway.open_shell(issue(action, fresh.id), fresh.id, argv, rows, cols,
                                                                   term), command=" ".join(argv),
                         rule=rule.describe() if rule is not None else "")

    @staticmethod
    def _confirmed(action: str, rule: Rule, confirmed: Rule | None) -> bool:
        return action in CONFIRMED_ON_PROTECTED and confirmed == rule

    def run_container(self, endpoint: str, spec: RunSpec) -> str:
        action = "container.run"
        probe = ContainerInfo(id="", name=spec.name, state="created", image=spec.image,
                              endpoint=endpoint, labels=spec.labels)
        self._check(action, probe)
        gateway = self._gateway(endpoint)
        return self._run(action, probe, lambda: gateway.run_container(issue(action, spec.name), spec.name, spec))

    def remove_if_still_stopped(self, c: ContainerInfo, *, volumes: bool = False) -> Outcome:
        """Cleanup's execution step for one planned container: inspect it, then remove it.

        The decision is made on that inspect, by id (a container of the same name made
        since is never touched): it is skipped, with the reason and an audit line, when
        the guard is read-only, it no longer exists, is no longer stopped, or now matches
        a protection rule (renamed, relabelled). ``force=False``: one that starts after
        the check is refused by the engine rather than killed. Never raises: every
        problem becomes the outcome's reason.
        """
        action = "container.remove"
        if self.read_only:
            return self._tell(action, c, "skipped", self._read_only_sentence(action), audited="refused",
                              rule="read-only")
        try:
            gateway = self._gateway(c.endpoint)
        except NotFound as err:  # the engine left the cluster
            return self._tell(action, c, "failed", str(err))
        try:
            fresh = gateway.container(c.id)
        except NotFound:
            return self._tell(action, c, "skipped", "it no longer exists")
        except CarinaError as err:
            return self._tell(action, c, "failed", str(err))
        if not fresh.stopped:
            return self._tell(action, fresh, "skipped", f"it is {fresh.state} now")
        rule = self.classify(fresh)
        if rule is not None:
            renamed = f" (renamed to {fresh.name})" if fresh.name != c.name else ""
            return self._tell(action, fresh, "skipped", f"it is protected now{renamed} by the rule {rule.describe()}",
                              audited="refused", rule=rule.describe())
        try:
            held = self.audit.open()
        except AuditUnwritable as err:
            return self._outcome(fresh, "failed", str(err))
        with held:
            try:
                self._removal(gateway, fresh, volumes=volumes)
            except NotFound:
                return self._tell(action, fresh, "skipped", "it no longer exists", held=held)
            except CarinaError as err:
                return self._tell(action, fresh, "failed", str(err), held=held)
            return self._tell(action, fresh, "removed", held=held)

    def keep_protected(self, c: ContainerInfo, rule: Rule, item: Stored | None = None) -> None:
        """Record that a bulk removal kept ``c`` (or the image or volume ``item`` that protected ``c``
        uses) because ``rule`` protects it (audited as refused)."""
        target = item if item is not None else c
        self._audit(_removal_action(target), target, "refused", rule=rule.describe())

    def remove_planned(self, item: ContainerInfo | Stored, *, volumes: bool = False) -> Outcome:
        """One planned removal, decided on a fresh look (``remove_if_still_stopped``, ``remove_stored``)."""
        if isinstance(item, ContainerInfo):
            return self.remove_if_still_stopped(item, volumes=volumes)
        return self.remove_stored(item)

    def check_audit(self) -> None:
        """``AuditUnwritable`` (a sentence naming the log) unless the audit log can be written now."""
        self.audit.check()

    def _removal(self, gateway: DockerGateway, c: ContainerInfo, *, force: bool = False,
                 volumes: bool = False) -> None:
        """Remove ``c``. A DELETE the engine took but never answered is not sent again: look
        (``_settle``) and raise unless the container is gone."""
        try:
            gateway.remove_container(issue("container.remove", c.id), c.id, force=force, volumes=volumes)
        except Unanswered as err:
            self._settle(gateway, c, err)

    @staticmethod
    def _settle(gateway: DockerGateway, c: ContainerInfo, err: Unanswered) -> None:
        """After an unanswered removal: return if ``c`` is gone, else raise saying what is known.

        Looks again while the engine does not answer (for at most the gateway's timeout), then,
        once it answers, for ``REMOVAL_SETTLE`` seconds more (longer while it says "removing"): an engine
        that was held up carries out the request it took a moment after it answers again.
        """
        deadline = time.monotonic() + gateway.timeout
        answered = None
        while True:
            try:
                now = gateway.container(c.id)
            except NotFound:
                return
            except CarinaError:
                if time.monotonic() >= (deadline if answered is None else answered + REMOVAL_SETTLE):
                    raise Unanswered(f"{err} Asked again, it did not answer either: whether {c.qualified_name} "
                                     "was removed is not known; look with docker ps -a.") from None
            else:
                answered = answered if answered is not None else time.monotonic()
                waited = time.monotonic() - answered
                if waited >= REMOVAL_SETTLE and (now.state != "removing" or waited >= gateway.timeout):
                    raise Unanswered(f"{err} Looked at again, {c.qualified_name} is still there ({now.state}): "
                                     "it was not removed.") from None
            time.sleep(0.1)

    # -- network actions --------------------------------------------------------------

    def create_network(self, endpoint: str, spec: NetworkSpec) -> str:
        action = "network.create"
        target = NetworkInfo(id="", name=spec.name, driver=spec.driver, scope="", endpoint=endpoint)
        self._check_network(action, target)
        gateway = self._gateway(endpoint)
        return self._run(action, target, lambda: gateway.create_network(issue(action, spec.name), spec))

    def check_network_removal(self, network: NetworkInfo) -> NetworkDetail:
        """Refuse (``Refused``, audited) removing ``network`` when read-only, predefined, or when any
        container is attached to it, running or not (a protected one is named with its rule).
        Never removes anything: a screen uses it to say why before it asks."""
        action = "network.remove"
        gateway = self.network_home(network)
        fresh = self._fresh_network(gateway, action, network)
        self._check_network(action, fresh.network)
        attached = self._attached(action, fresh.network)
        for c in attached:
            rule = self.classify(c)
            if rule is not None:
                sentence = self._protected_network_sentence(fresh.network, c, rule)
                self._audit(action, network, "refused", rule=rule.describe())
                raise Refused(sentence, rule=rule.describe())
        if attached:
            names = ", ".join(f"{c.qualified_name} ({c.state})" for c in attached)
            sentence = (f"Network {network.name} still has containers attached ({names}); "
                        "disconnect them first.")
            self._audit(action, network, "refused", error=sentence)
            raise Refused(sentence)
        return fresh

    def remove_network(self, network: NetworkInfo) -> None:
        action = "network.remove"
        self.check_network_removal(network)
        gateway = self.network_home(network)
        self._run(action, network, lambda: gateway.remove_network(issue(action, network.id), network.id))

    def prune_networks(self, planned: Iterable[NetworkInfo]) -> list[Outcome]:
        """Remove exactly the networks that were previewed, each re-checked first."""
        out = []
        for net in planned:
            try:
                self.remove_network(net)
            except Refused as err:
                out.append(Outcome(net.id, net.name, "skipped", str(err), net.node))
            except NotFound:
                out.append(Outcome(net.id, net.name, "skipped", "it no longer exists", net.node))
            except CarinaError as err:
                out.append(Outcome(net.id, net.name, "failed", str(err), net.node))
            else:
                out.append(Outcome(net.id, net.name, "removed", "", net.node))
        return out

    def connect(self, network: NetworkInfo, c: ContainerInfo, *, aliases=(), ipv4: str = "") -> None:
        action = "network.connect"
        gateway = self._gateway(c.endpoint)
        fresh = self._fresh(gateway, action, c)
        self._check(action, fresh)
        self._run(action, fresh, lambda: gateway.connect_network(
            issue(action, fresh.id), network.id or network.name, fresh.id, aliases=tuple(aliases), ipv4=ipv4))

    def disconnect(self, network: NetworkInfo, c: ContainerInfo, *, force: bool = False) -> None:
        action = "network.disconnect"
        gateway = self._gateway(c.endpoint)
        fresh = self._fresh(gateway, action, c)
        self._check(action, fresh)
        self._run(action, fresh, lambda: gateway.disconnect_network(
            issue(action, fresh.id), network.id or network.name, fresh.id, force=force))

    # -- swarm services (issue 15) ----------------------------------------------------
    # Judged by the same rules as containers (name, name pattern, image, label), on a fresh look.
    # Creating, and scaling a protected service up, are allowed; removing it, scaling it to 0,
    # updating its image and forcing a restart are refused with the rule.

    def create_service(self, endpoint: str, spec: ServiceSpec) -> str:
        from carina_tui.core.swarm_models import ServiceInfo  # loaded when a service is in play, not for a cleanup

        action = "service.create"
        target = ServiceInfo(id="", name=spec.name, mode=spec.mode, image=spec.image, endpoint=endpoint,
                             labels=spec.labels)
        self._check_service(action, target, protected_ok=True)
        gateway = self._gateway(endpoint)
        return self._run(action, target, lambda: gateway.create_service(issue(action, spec.name), spec))

    def scale_service(self, service: ServiceInfo, replicas: int) -> ServiceInfo:
        action = "service.scale"
        gateway, fresh = self._fresh_service(action, service)
        if fresh.mode == "global":
            sentence = f"{fresh.qualified_name} is global: it runs one task on every node and has no count to scale."
            self._audit(action, fresh, "refused", error=sentence)
            raise Refused(sentence)
        self._check_service(action, fresh, protected_ok=replicas > 0)
        self._run(action, fresh, lambda: gateway.scale_service(issue(action, fresh.id), fresh.id, replicas))
        return fresh

    def update_service_image(self, service: ServiceInfo, image: str) -> ServiceInfo:
        return self._service_change("service.update", service, image)

    def restart_service(self, service: ServiceInfo) -> ServiceInfo:
        return self._service_change("service.restart", service)

    def remove_service(self, service: ServiceInfo) -> ServiceInfo:
        return self._service_change("service.remove", service)

    def would_refuse_service(self, action: str, service: ServiceInfo, replicas: int | None = None) -> str | None:
        """Why ``action`` on ``service`` would be refused, judged on what is known now (a screen says
        no at once; the guard decides again on a fresh look)."""
        if self.read_only:
            return self._read_only_sentence(action)
        rule = self.classify(service)  # type: ignore[arg-type]
        if rule is None or action == "service.create" or (action == "service.scale" and (replicas or 0) > 0):
            return None
        return self._protected_service_sentence(action, service, rule)

    def check_service(self, action: str, service: ServiceInfo) -> ServiceInfo:
        """Refuse (``Refused``, audited) ``action`` on ``service`` as the guard would, on a fresh look;
        never acts. A screen uses it to say why at once, with the refusal in the audit log."""
        _, fresh = self._fresh_service(action, service)
        self._check_service(action, fresh, protected_ok=action == "service.create")
        return fresh

    def _service_change(self, action: str, service: ServiceInfo, *args) -> ServiceInfo:
        method = {"service.update": DockerGateway.update_service_image, "service.restart": DockerGateway.restart_service,
                  "service.remove": DockerGateway.remove_service}[action]
        gateway, fresh = self._fresh_service(action, service)
        self._check_service(action, fresh)
        self._run(action, fresh, lambda: method(gateway, issue(action, fresh.id), fresh.id, *args))
        return fresh

    def _fresh_service(self, action: str, service: ServiceInfo) -> tuple[DockerGateway, ServiceInfo]:
        gateway = self._gateway(service.endpoint)
        try:
            return gateway, gateway.service(service.id)
        except CarinaError as err:
            self._audit(action, service, "failed", error=str(err))
            raise

    def _check_service(self, action: str, service: ServiceInfo, *, protected_ok: bool = False) -> None:
        if self.read_only:
            self._audit(action, service, "refused", rule="read-only")
            raise Refused(self._read_only_sentence(action), rule="read-only")
        rule = None if protected_ok else self.classify(service)  # type: ignore[arg-type]
        if rule is not None:
            self._audit(action, service, "refused", rule=rule.describe())
            raise Refused(self._protected_service_sentence(action, service, rule), rule=rule.describe())

    @staticmethod
    def _protected_service_sentence(action: str, service: ServiceInfo, rule: Rule) -> str:
        what = {"service.scale": "scaling it to 0", "service.update": "updating its image",
                "service.restart": "forcing a restart of its tasks", "service.remove": "removing it"}[action]
        return (f"{service.qualified_name} is protected by the rule {rule.describe()}: {what} is refused. "
                "Scaling it up is allowed.")

    # -- swarm nodes: drain and activate (issue 15) ---------------------------------------

    def set_availability(self, node: NodeInfo, availability: str) -> NodeInfo:
        """Drain (or activate, pause) a swarm node, decided on a manager's fresh node list: refused,
        and audited, when read-only, when it would drain the swarm's last active manager, or when
        the node runs a protected task container (drain would stop it; plain containers such as the
        Consul agent are not touched by drain). Returns the node as the manager holds it after."""
        from carina_tui.gateways import swarm_nodes  # (and the drain's decisions) loaded on the first use

        action, manager, target, fresh = self._availability_decided(node, availability)
        self._run(action, target, lambda: manager.update_node_availability(
            issue("node.availability", fresh.id), fresh.id, availability))
        return swarm_nodes.node(manager, fresh.id)

    def check_availability(self, node: NodeInfo, availability: str) -> None:
        """What ``set_availability`` would decide before it acts, asked before the user is: raises
        its ``Refused`` (audited) when a rule already refuses the change, else nothing. The change
        itself is decided again, on a fresh node list, when it is made."""
        self._availability_decided(node, availability)

    def _availability_decided(self, node: NodeInfo, availability: str):
        from carina_tui.core.swarm_nodes import (AVAILABILITIES, NodeTarget, last_active_manager, protected_task,
                                                 protected_task_sentence)
        from carina_tui.gateways import swarm_nodes

        if availability not in AVAILABILITIES:
            raise ValidationError(f"A node's availability is one of {', '.join(AVAILABILITIES)}, not {availability!r}.")
        action = {"drain": "node.drain", "active": "node.activate"}.get(availability, "node.pause")
        manager = self._manager(action, NodeTarget(node.id, node.hostname))
        target = NodeTarget(node.id, node.hostname, manager.key)
        if self.read_only:
            self._audit(action, target, "refused", rule="read-only")
            raise Refused(self._read_only_sentence(action), rule="read-only")
        try:
            nodes = manager.nodes()
            fresh = next((n for n in nodes if n.id == node.id), None)
            if fresh is None:
                raise NotFound(f"Node {node.hostname} is no longer part of the swarm; nothing was changed.")
            found = protected_task(swarm_nodes.node_tasks(manager, fresh), self.rules) \
                if availability == "drain" else None
        except CarinaError as err:
            self._audit(action, target, "failed", error=str(err))
            raise
        if availability == "drain":
            why = last_active_manager(fresh, nodes)
            if why is not None:
                self._audit(action, target, "refused", rule="last active manager")
                raise Refused(why, rule="last active manager")
            if found is not None:
                task, rule = found
                self._audit(action, target, "refused", rule=rule.describe())
                raise Refused(protected_task_sentence(fresh, task, rule), rule=rule.describe())
        return action, manager, target, fresh

    def _manager(self, action: str, target: NodeTarget) -> DockerGateway:
        """A gateway to a manager that answers now (node changes are made on a manager)."""
        if (gateway := first_manager(self._gateways.values())) is not None:
            return gateway
        err = EngineUnreachable(f"No manager of the swarm answers, so node {target.name} cannot be changed; "
                                "check that a manager's engine runs and is one of the cluster's endpoints.")
        self._audit(action, target, "failed", error=str(err))
        raise err

    def network_home(self, network: NetworkInfo) -> DockerGateway:
        """Where ``network`` is read and removed: its own engine; a swarm-scoped one on a manager
        that answers now (a worker holds it only while one of its containers uses it, so the
        engine its row came from may have dropped it), else its own engine as before."""
        if network.scope != "swarm":
            return self._gateway(network.endpoint)
        own = self._gateways.get(network.endpoint)
        others = [g for g in self._gateways.values() if g is not own]
        return first_manager(([own] if own is not None else []) + others) or self._gateway(network.endpoint)

    # -- images and volumes (issue 16) -------------------------------------------------

    def remove_stored(self, item: Stored) -> Outcome:
        """Remove one image or volume (``d``, and each item of a prune) after a fresh look: the
        image's inspect and the containers of every engine, or the volume's inspect and its
        engine's containers. Skipped, with the reason and an audit line, when read-only, gone,
        used by a protected container, or used by any container of its engine by then. Never
        raises: every problem becomes the outcome's reason."""
        action = _removal_action(item)
        if self.read_only:
            return self._tell(action, item, "skipped", self._read_only_sentence(action), audited="refused",
                              rule="read-only")
        try:
            gateway = self._gateway(item.endpoint)
            fresh = self._fresh_stored(gateway, item)
        except NotFound:
            return self._tell(action, item, "skipped", "it no longer exists")
        except CarinaError as err:
            return self._tell(action, item, "failed", str(err))
        if fresh.protected_by is not None and fresh.rule is not None:
            return self._tell(action, fresh, "skipped", self._protected_use_sentence(fresh), audited="refused",
                              rule=fresh.rule.describe())
        if fresh.users:
            names = ", ".join(f"{c.qualified_name} ({c.state})" for c in fresh.users)
            return self._tell(action, fresh, "skipped", f"it is used by {names}; remove "
                              f"{'that container' if len(fresh.users) == 1 else 'those containers'} first")
        try:
            held = self.audit.open()
        except AuditUnwritable as err:
            return self._outcome(fresh, "failed", str(err))
        with held:
            permit = issue(action, fresh.id)
            try:
                if isinstance(fresh, Image):
                    names = fresh.tags + fresh.digests
                    gateway.remove_image(permit, fresh.id, untag=names[1:], name=fresh.name)
                else:
                    gateway.remove_volume(permit, fresh.name)
            except NotFound:
                return self._tell(action, fresh, "skipped", "it no longer exists", held=held)
            except CarinaError as err:
                return self._tell(action, fresh, "failed", str(err), held=held)
            return self._tell(action, fresh, "removed", held=held)

    def _fresh_stored(self, gateway: DockerGateway, item: Stored) -> Stored:
        """The item as its engine has it now, with the containers that use it now: for an image,
        those of every engine (a protected container anywhere that names it keeps it; an engine
        that does not answer means that cannot be known, and nothing is removed)."""
        if isinstance(item, Image):
            fresh: Stored = gateway.stored_image(item.id)
            containers = [c for gw in self._gateways.values() for c in gw.containers()]
        else:
            fresh = gateway.volume(item.name)
            containers = gateway.containers()
        return with_users([fresh], containers, self.rules)[0]

    @staticmethod
    def _protected_use_sentence(item: Stored) -> str:
        c, rule = item.protected_by, item.rule
        what = "image" if isinstance(item, Image) else "volume"
        return (f"the protected container {c.qualified_name} ({c.state}) uses this {what} (rule "
                f"{rule.describe()}); it is kept while it does")

    # -- the machinery ----------------------------------------------------------------

    def _gateway(self, endpoint: str) -> DockerGateway:
        try:
            return self._gateways[endpoint]
        except KeyError:
            raise NotFound(f"No engine {endpoint!r} is part of this cluster any more; refresh with r.") from None

    def _fresh(self, gateway: DockerGateway, action: str, target: ContainerInfo) -> ContainerInfo:
        try:
            return gateway.container(target.id)
        except CarinaError as err:
            self._audit(action, target, "failed", error=str(err))
            raise

    def _fresh_network(self, gateway: DockerGateway, action: str, target: NetworkInfo):
        try:
            return gateway.network(target.id)
        except CarinaError as err:
            self._audit(action, target, "failed", error=str(err))
            raise

    def _check(self, action: str, target: ContainerInfo, *, confirmed: Rule | None = None) -> None:
        if self.read_only:
            sentence = self._read_only_sentence(action)
            self._audit(action, target, "refused", rule="read-only")
            raise Refused(sentence, rule="read-only")
        if action in ALLOWED_ON_PROTECTED:
            return
        rule = self.classify(target)
        if rule is not None and not self._confirmed(action, rule, confirmed):
            self._audit(action, target, "refused", rule=rule.describe())
            raise Refused(self._protected_sentence(action, target, rule), rule=rule.describe())

    def _check_network(self, action: str, target: NetworkInfo) -> None:
        if self.read_only:
            self._audit(action, target, "refused", rule="read-only")
            raise Refused(self._read_only_sentence(action), rule="read-only")
        if action == "network.remove" and target.predefined:
            self._audit(action, target, "refused", rule="predefined network")
            raise Refused(self._predefined_sentence(target), rule="predefined network")

    def _attached(self, action: str, network: NetworkInfo) -> list[ContainerInfo]:
        """Every container attached to ``network``, running or not; for a swarm-scoped network,
        on every engine of the cluster."""
        engines = list(self._gateways.values()) if network.scope == "swarm" else [self._gateway(network.endpoint)]
        try:
            return [c for gateway in engines for c in gateway.containers(network=network)]
        except CarinaError as err:
            self._audit(action, network, "failed", error=str(err))
            raise

    def _run(self, action: str, target, call: Callable[[], T], *, command: str = "", rule: str = "") -> T:
        """Open the audit log (nothing is done if it cannot be), act, write the outcome."""
        with self.audit.open() as held:
            try:
                result = call()
            except CarinaError as err:
                try:
                    self._audit(action, target, "failed", error=str(err), held=held, command=command, rule=rule)
                except AuditUnwritable as also:
                    err.sentence = f"{err.sentence} Also, {also}."
                raise
            try:
                self._audit(action, target, "done", held=held, command=command, rule=rule)
            except AuditUnwritable as err:
                raise AuditUnwritable(f"The {self._verb(action)} of {self._name(target)} was done, but {err}.") from None
        return result

    def _tell(self, action: str, target: ContainerInfo, result: str, reason: str = "", *, audited: str = "",
              rule: str = "", held: AuditHandle | None = None) -> Outcome:
        """One bulk outcome, written to the audit log; a line that cannot be written is said in the
        reason and never changes the result (a removed container is reported removed)."""
        audited = audited or {"removed": "done"}.get(result, result)
        try:
            self._audit(action, target, audited, rule=rule, error="" if rule else reason, held=held)
        except AuditUnwritable as err:
            reason = f"{reason}; {err}" if reason else str(err)
        return self._outcome(target, result, reason)

    @staticmethod
    def _outcome(target: ContainerInfo, result: str, reason: str = "") -> Outcome:
        return Outcome(target.id, target.qualified_name, result, reason, target.node)

    @staticmethod
    def _name(target) -> str:
        return getattr(target, "qualified_name", None) or target.name

    def _audit(self, action: str, target, outcome: str, *, rule: str = "", error: str = "",
               held: AuditHandle | None = None, command: str = "") -> None:
        """Write one line (through ``held`` when the log is already open); ``AuditUnwritable`` if it cannot."""
        gateway = self._gateways.get(getattr(target, "endpoint", ""))
        (held or self.audit).write(
            AuditEntry(
                action=action,
                target_id=target.id,
                target_name=self._name(target),
                outcome=outcome,
                cluster=self.cluster,
                endpoint=gateway.url if gateway is not None else getattr(target, "endpoint", ""),
                rule=rule,
                error=error,
                command=command,
            )
        )

    @staticmethod
    def _verb(action: str) -> str:
        return action.split(".", 1)[1].replace("exec", "run a command in")

    def _read_only_sentence(self, action: str) -> str:
        where = f"Cluster {self.cluster} is" if self.cluster else "The console is"
        return (f"{where} open read-only (--read-only, or read_only = true in the config): "
                f"{self._verb(action)} was refused and nothing was changed.")

    @staticmethod
    def _predefined_sentence(network: NetworkInfo) -> str:
        return (f"Network {network.name} is predefined by Docker and cannot be removed; "
                "the engine and swarm need it.")

    @staticmethod
    def _protected_network_sentence(network: NetworkInfo, c: ContainerInfo, rule: Rule) -> str:
        return (f"Network {network.name} is refused: the protected container {c.qualified_name} ({c.state}) is "
                f"attached (rule {rule.describe()}), and the cluster needs it there.")

    def _protected_sentence(self, action: str, c: ContainerInfo, rule: Rule) -> str:
        return (f"{c.qualified_name} is protected by the rule {rule.describe()}: "
                f"{self._verb(action)} is refused. It holds the cluster's network state; "
                "only starting it is allowed.")


def first_manager(gateways: Iterable[DockerGateway]) -> DockerGateway | None:
    """The first of ``gateways`` that answers now as a swarm manager, else None."""
    for gateway in gateways:
        try:
            if gateway.info().is_manager:
                return gateway
        except CarinaError:
            continue
    return None
