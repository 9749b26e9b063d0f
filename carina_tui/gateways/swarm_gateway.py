"""Swarm services and tasks, for ``DockerGateway`` (a mixin: the gateway's own connection, sentences
and permits).

Read from a manager (a worker answers every call here with the engine's "not a swarm manager").
Reads return ``core.swarm_models`` dataclasses; the mutating methods take the guard's ``Permit``
first, as every mutating gateway method does (``tests/engine/test_guard_bypass.py`` walks this
module too). An update (scale, image, forced restart) is sent on the service's spec as a fresh
inspect holds it, with that inspect's version: one made meanwhile by someone else makes the engine
refuse ("update out of sequence") rather than be undone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import urlencode

from carina_tui.core.errors import NotFound
from carina_tui.core.models import pairs
from carina_tui.core.permit import Permit, require

if TYPE_CHECKING:  # pragma: no cover
    # Loaded by the methods that make them: a headless cleanup never touches a service.
    from carina_tui.core.swarm_models import ServiceInfo, ServiceSpec, TaskInfo

# The labels Swarm puts on a task's container: how an event of that container names its service.
SERVICE_ID_LABEL = "com.docker.swarm.service.id"
_DETAIL_KEYS = {"com.docker.swarm.node.id": "node", "com.docker.swarm.task.id": "task"}


class SwarmGateway:
    """Mixed into ``DockerGateway``: uses its ``api``, ``_call``, ``_read``, ``_lines``, ``networks`` and ``nodes``."""

    api: Any
    _call: Callable
    _read: Callable
    _lines: Callable

    # -- reads ----------------------------------------------------------------------

    def services(self, ids: list[str] | None = None) -> list[ServiceInfo]:
        """Every service (or those with ``ids``), with its running and desired task counts."""
        filters = {"id": ids} if ids else {}
        target = "/services?" + urlencode({"status": "true", **({"filters": json.dumps(filters)} if filters else {})})
        raw = self._read("list the swarm's services", target,
                         lambda api: api.services(filters=filters or None, status=True))
        networks = self._network_names()
        found = [self._service(s, networks) for s in raw]
        return sorted((s for s in found if not ids or s.id in ids), key=lambda s: s.name)

    def service(self, service_id: str) -> ServiceInfo:
        """A fresh look at one service (the guard decides on it)."""
        found = self.services([service_id])
        if not found:
            raise NotFound(f"Could not find service {service_id[:12]}: it no longer exists.")
        return found[0]

    def tasks(self, service_id: str | None = None) -> list[TaskInfo]:
        """The tasks of a service (or of all), the history Swarm keeps included: by slot, newest first."""
        filters = {"service": [service_id]} if service_id else {}
        target = "/tasks" + (f"?{urlencode({'filters': json.dumps(filters)})}" if filters else "")
        raw = self._read("list the service's tasks", target, lambda api: api.tasks(filters=filters or None))
        hostnames = {n.id: n.hostname for n in self.nodes()}  # type: ignore[attr-defined]
        names = {s.id: s.name for s in self.services([service_id] if service_id else None)}
        out = [self._task(t, hostnames, names) for t in raw]
        return sorted(out, key=lambda t: (t.slot, "" if t.slot else t.node, -t.created))

    def service_logs(self, service_id: str, *, tail: int = 200, follow: bool = True,
                     on_stream=None) -> Iterator[tuple[str, str, str]]:
        """``(task id, node id, line)`` from the manager's service log API: the last ``tail`` lines of
        every task, then (``follow``) new ones as they come."""
        with self._call(f"read the logs of service {service_id[:12]}"):
            stream = self.api.service_logs(service_id, details=True, follow=follow, stdout=True, stderr=True,
                                           tail=tail, is_tty=False)
            if on_stream is not None:
                on_stream(self._closable(stream))  # type: ignore[attr-defined]
            for line in self._lines(stream):
                yield _detailed(line)

    def _network_names(self) -> dict[str, str]:
        return {n.id: n.name for n in self.networks()}  # type: ignore[attr-defined]

    # -- mutations (permit required; only the guard holds permits) -------------------

    def create_service(self, permit: Permit, spec: ServiceSpec) -> str:
        require(permit, "service.create", spec.name)
        with self._call(f"create service {spec.name}"):
            created = self.api.create_service(_task_template(spec), name=spec.name, labels=dict(spec.labels) or None,
                                              mode=_mode(spec.mode, spec.replicas), endpoint_spec=_endpoint_spec(spec))
        return created["ID"]

    def scale_service(self, permit: Permit, service_id: str, replicas: int) -> None:
        require(permit, "service.scale", service_id)
        with self._call(f"scale service {service_id[:12]}"):
            api = self.api
            api._result(api._post_json(api._url("/services/{0}/update", service_id), **self._update_of(
                service_id, lambda spec: _set_replicas(spec, replicas))), json=True)

    def update_service_image(self, permit: Permit, service_id: str, image: str) -> None:
        require(permit, "service.update", service_id)
        with self._call(f"update the image of service {service_id[:12]}"):
            api = self.api
            api._result(api._post_json(api._url("/services/{0}/update", service_id), **self._update_of(
                service_id, lambda spec: spec.setdefault("TaskTemplate", {}).setdefault(
                    "ContainerSpec", {}).update(Image=image), image=image)), json=True)

    def restart_service(self, permit: Permit, service_id: str) -> None:
        require(permit, "service.restart", service_id)
        with self._call(f"restart service {service_id[:12]}"):
            api = self.api
            api._result(api._post_json(api._url("/services/{0}/update", service_id), **self._update_of(
                service_id, _force)), json=True)

    def remove_service(self, permit: Permit, service_id: str) -> None:
        require(permit, "service.remove", service_id)
        with self._call(f"remove service {service_id[:12]}"):
            self.api.remove_service(service_id)

    def _update_of(self, service_id: str, change: Callable[[dict], None], *, image: str | None = None) -> dict:
        """The body, version and headers of an update (a read: the update itself is its caller's):
        the service's current spec (a fresh inspect, without the engine's defaults filled in) changed
        by ``change`` alone, at the version it was read at. Not docker-py's ``update_service``: its
        ``fetch_current_spec`` reads the spec with defaults inserted (RestartPolicy, StopGracePeriod,
        ...) and sends them back, a task-template change that makes Swarm replace every task, even
        on a scale."""
        api = self.api
        doc = api.inspect_service(service_id)
        spec = doc.get("Spec") or {}
        change(spec)
        headers = {}
        if image:
            from docker import auth  # docker-py is loaded already: ``api`` is its client

            header = auth.get_config_header(api, auth.resolve_repository_name(image)[0])
            if header:
                headers["X-Registry-Auth"] = header
        return dict(data=spec, params={"version": (doc.get("Version") or {}).get("Index")}, headers=headers)

    # -- conversions ----------------------------------------------------------------

    def _service(self, s: dict, network_names: dict[str, str]) -> ServiceInfo:
        from carina_tui.core.swarm_models import ServiceInfo, ServicePort

        spec = s.get("Spec") or {}
        template = spec.get("TaskTemplate") or {}
        container = template.get("ContainerSpec") or {}
        mode = spec.get("Mode") or {}
        status = s.get("ServiceStatus") or {}
        update = s.get("UpdateStatus") or {}
        endpoint = s.get("Endpoint") or {}
        ports = (endpoint.get("Ports") or (endpoint.get("Spec") or {}).get("Ports")
                 or (spec.get("EndpointSpec") or {}).get("Ports") or ())
        replicated = "Global" not in mode
        attached = template.get("Networks") or spec.get("Networks") or ()
        return ServiceInfo(
            id=s.get("ID") or "",
            name=spec.get("Name") or "",
            mode="replicated" if replicated else "global",
            image=container.get("Image") or "",
            running=int(status.get("RunningTasks") or 0),
            desired=int(status.get("DesiredTasks") or 0),
            replicas=int((mode.get("Replicated") or {}).get("Replicas") or 0) if replicated else None,
            ports=tuple(ServicePort(int(p.get("TargetPort") or 0),
                                    int(p["PublishedPort"]) if p.get("PublishedPort") else None,
                                    p.get("Protocol") or "tcp", p.get("PublishMode") or "ingress") for p in ports),
            networks=tuple(sorted(network_names.get(n.get("Target") or "", n.get("Target") or "") for n in attached)),
            endpoint_mode=(spec.get("EndpointSpec") or {}).get("Mode") or "vip",
            labels=tuple(sorted(set(pairs(spec.get("Labels"))) | set(pairs(container.get("Labels"))))),
            constraints=tuple((template.get("Placement") or {}).get("Constraints") or ()),
            env=tuple(container.get("Env") or ()),
            created=_when(s.get("CreatedAt") or ""),
            updated=_when(update.get("CompletedAt") or update.get("StartedAt") or s.get("UpdatedAt") or ""),
            update_state=update.get("State") or "",
            update_message=update.get("Message") or "",
            version=int((s.get("Version") or {}).get("Index") or 0),
            endpoint=self.key,  # type: ignore[attr-defined]
        )

    def _task(self, t: dict, hostnames: dict[str, str], service_names: dict[str, str]) -> TaskInfo:
        from carina_tui.core.swarm_models import TaskInfo

        status = t.get("Status") or {}
        node_id = t.get("NodeID") or ""
        service_id = t.get("ServiceID") or ""
        slot = int(t.get("Slot") or 0)
        base = service_names.get(service_id) or service_id[:12]
        return TaskInfo(
            id=t.get("ID") or "",
            service_id=service_id,
            name=f"{base}.{slot}" if slot else f"{base}.{node_id[:12]}",
            slot=slot,
            node_id=node_id,
            node=hostnames.get(node_id, ""),
            state=status.get("State") or "",
            desired_state=t.get("DesiredState") or "",
            error=status.get("Err") or "",
            message=status.get("Message") or "",
            container_id=(status.get("ContainerStatus") or {}).get("ContainerID") or "",
            image=((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Image") or "",
            created=_when(t.get("CreatedAt") or ""),
            updated=_when(status.get("Timestamp") or t.get("UpdatedAt") or ""),
        )


def _detailed(line: str) -> tuple[str, str, str]:
    """A service log line with ``details``: ``com.docker.swarm.node.id=..,...task.id=.. message``."""
    head, sep, message = line.partition(" ")
    found = {}
    for item in head.split(","):
        key, eq, value = item.partition("=")
        if eq and key in _DETAIL_KEYS:
            found[_DETAIL_KEYS[key]] = value
    if not sep or "task" not in found:
        return "", "", line  # not a detailed line (a message of the engine's own)
    return found["task"], found.get("node", ""), message


def _force(spec: dict) -> None:
    """A forced rolling restart: ``ForceUpdate`` counts up, so every task is replaced though nothing changed."""
    template = spec.setdefault("TaskTemplate", {})
    template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1


def _set_replicas(spec: dict, replicas: int) -> None:
    """A scale: ``Mode.Replicated.Replicas`` and nothing else (a global service has no count to set)."""
    spec.setdefault("Mode", {}).setdefault("Replicated", {})["Replicas"] = replicas


def _mode(mode: str, replicas: int) -> dict:
    return {"Global": {}} if mode == "global" else {"Replicated": {"Replicas": replicas}}


def _task_template(spec: ServiceSpec) -> dict:
    container: dict[str, Any] = {"Image": spec.image}
    if spec.command:
        container["Args"] = list(spec.command)
    if spec.env:
        container["Env"] = list(spec.env)
    template: dict[str, Any] = {"ContainerSpec": container}
    if spec.constraints:
        template["Placement"] = {"Constraints": list(spec.constraints)}
    if spec.networks:
        template["Networks"] = [{"Target": n} for n in spec.networks]
    return template


def _endpoint_spec(spec: ServiceSpec) -> dict:
    out: dict[str, Any] = {"Mode": spec.endpoint_mode}
    if spec.ports:
        out["Ports"] = [{"TargetPort": p.target, "Protocol": p.protocol, "PublishMode": p.mode,
                         **({"PublishedPort": p.published} if p.published is not None else {})} for p in spec.ports]
    return out


def _when(text: str) -> float:
    from carina_tui.gateways.docker_gateway import _parse_time  # here: that module imports this one

    return _parse_time(text)
