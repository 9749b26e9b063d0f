"""A cluster's Swarm services, read from a manager; their logs, merged across the nodes.

``Swarm`` (``session.swarm``) finds a manager among the session's engines (a worker cannot list
services) and remembers it; when it stops answering, the next manager is asked. Changes go through
the guard (``session.guard``), never from here.

``ServiceLogs`` follows every task of a service on dedicated threads (``carina-logs:service <name>``):
the manager's service log API first, each line marked with its task and node; for a node that API
misses (the manager says the node is down, or the stream says it could not reach it), the task's
container is read straight from that node's own engine, when the session has it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable

from carina_tui.core.errors import CarinaError, EngineRefused, EngineUnreachable
from carina_tui.core.rules import Rule
from carina_tui.core.swarm_models import ServiceInfo, TaskInfo
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.runtime import start_loop


@dataclass(frozen=True)
class ServiceRow:
    """A service, the rule that protects it (or None) and its tasks: what ``carina-tui services`` prints."""

    service: ServiceInfo
    rule: Rule | None
    tasks: tuple[TaskInfo, ...] = ()


class Swarm:
    def __init__(self, session) -> None:
        self.session = session
        self._manager: str | None = None
        self._lock = threading.Lock()

    def manager(self) -> DockerGateway:
        """A manager's gateway: the one that answered last, else the first engine that says it is one."""
        with self._lock:
            if self._manager in self.session.gateways:
                return self.session.gateways[self._manager]
        problems = []
        for key, gateway in list(self.session.gateways.items()):
            try:
                info = gateway.info()
            except CarinaError as err:
                problems.append(str(err))
                continue
            if info.is_manager:
                with self._lock:
                    self._manager = key
                return gateway
        name = self.session.spec.name or "this cluster"
        why = f" ({problems[0]})" if problems else ""
        raise EngineUnreachable(
            f"No engine of {name} answers as a swarm manager{why}: services are read from a manager; "
            "add a manager's endpoint to the cluster, or start the swarm with `docker swarm init`.")

    def _on_manager(self, call: Callable[[DockerGateway], object]):
        """``call`` on a manager; when the one remembered does not answer (or is a manager no more),
        once more on another."""
        gateway = self.manager()
        try:
            return call(gateway)
        except (EngineUnreachable, EngineRefused) as err:
            if isinstance(err, EngineRefused) and "manager" not in str(err):
                raise  # refused for another reason than no longer being a manager (demoted)
            with self._lock:
                self._manager = None
            other = self.manager()
            if other is gateway:
                raise
            return call(other)

    def services(self) -> list[ServiceInfo]:
        return self._on_manager(lambda gw: gw.services())  # type: ignore[return-value]

    def tasks(self, service: ServiceInfo | None = None) -> list[TaskInfo]:
        """The tasks of ``service`` (of every service when None), the history Swarm keeps included."""
        return self._on_manager(lambda gw: gw.tasks(service.id if service else None))  # type: ignore[return-value]

    def rows(self) -> list[ServiceRow]:
        """Every service with its protection and its tasks (two calls to the manager, and one for nodes)."""
        services = self.services()
        tasks: dict[str, list[TaskInfo]] = {}
        for task in self.tasks():
            tasks.setdefault(task.service_id, []).append(task)
        return [ServiceRow(s, self.session.guard.classify(s), tuple(tasks.get(s.id, ()))) for s in services]

    def node_gateway(self, hostname: str) -> DockerGateway | None:
        """The session's engine of node ``hostname`` (its ``docker info`` Name), if it has one."""
        for gateway in self.session.gateways.values():
            if not gateway.node:
                try:
                    gateway.info()
                except CarinaError:
                    continue
            if gateway.node == hostname:
                return gateway
        return None


# How the service log API says it could not read some node's logs (its words, and the node's id).
_MISSED = re.compile(r"incomplete log stream|not available|could not be retrieved|node .* (?:is )?down", re.I)


class ServiceLogs:
    """The merged logs of one service: ``on_line("web.2@node-1 | text")`` from reader threads, then
    ``on_end(sentence)`` once no reader is left. ``stop()`` closes every stream at once."""

    def __init__(self, session, service: ServiceInfo, *, tail: int, on_line: Callable[[str], None],
                 on_end: Callable[[str], None]) -> None:
        self.session = session
        self.service = service
        self.tail = tail
        self.on_line = on_line
        self.on_end = on_end
        self._lock = threading.Lock()
        self._streams: list = []
        self._stopping = False
        self._tasks: dict[str, TaskInfo] = {}
        self._nodes: dict[str, str] = {}  # node id -> hostname
        self._direct: set[str] = set()  # task ids read from their node's own engine
        self._seen_nodes: set[str] = set()
        self._down: set[str] = set()  # node ids the manager says are not ready
        self._readers = 0
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self._reader(f"carina-logs:service {self.service.name}", self._follow_api)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            streams, self._streams = self._streams, []
        for stream in streams:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race the reader
                pass

    # -- readers ----------------------------------------------------------------------------

    def _reader(self, name: str, target: Callable[[], str]) -> None:
        with self._lock:
            self._readers += 1

        def run() -> None:
            sentence = ""
            try:
                sentence = target()
            except CarinaError as err:
                sentence = str(err)
            finally:
                with self._lock:
                    self._readers -= 1
                    last = self._readers == 0 and not self._stopping
                if last:
                    self.on_end(sentence or f"The log streams of {self.service.qualified_name} ended.")

        self.threads.append(start_loop(name, run))

    def _remember(self, stream) -> None:
        with self._lock:
            self._streams.append(stream)
            stopping = self._stopping
        if stopping:
            stream.close()

    def _follow_api(self) -> str:
        swarm = self.session.swarm
        self._learn_tasks()
        missed = [t for t in self._tasks.values() if t.current and self._node_down(t)]
        self._read_directly(missed)
        manager = swarm.manager()
        try:
            for task_id, node_id, text in manager.service_logs(self.service.id, tail=self.tail, follow=True,
                                                              on_stream=self._remember):
                if self._stopping:
                    return ""
                if not task_id:
                    if _MISSED.search(text):
                        self._missed(text)
                    self.on_line(f"[{self.service.name}] {text}")
                    continue
                self._seen_nodes.add(node_id)
                if task_id in self._direct:
                    continue  # read from its own node already
                self.on_line(f"{self._label(task_id, node_id)} | {text}")
        except CarinaError as err:
            if self._stopping:
                return ""
            if _MISSED.search(str(err)):
                self._missed(str(err))
                return ""
            raise
        return f"The log stream of {self.service.qualified_name} ended."

    def _follow_task(self, task: TaskInfo, gateway: DockerGateway) -> str:
        label = f"{task.name}@{task.node}"
        for text in gateway.logs(task.container_id, tail=self.tail, follow=True, on_stream=self._remember):
            if self._stopping:
                return ""
            self.on_line(f"{label} | {text}")
        return f"The logs of {label} ended: its container is not running."

    def _read_directly(self, tasks: list[TaskInfo]) -> None:
        """Follow each task's container on its node's own engine (once per task)."""
        for task in tasks:
            if task.id in self._direct or not task.container_id:
                continue
            gateway = self.session.swarm.node_gateway(task.node)
            if gateway is None:
                continue
            self._direct.add(task.id)
            self._reader(f"carina-logs:{task.name}@{task.node}", lambda t=task, g=gateway: self._follow_task(t, g))

    def _missed(self, text: str) -> None:
        """The service log API said it missed some node: read those nodes' tasks from their engines
        (the nodes it names; when it names none, every node it has not answered for)."""
        self._learn_tasks()
        named = {t.node_id for t in self._tasks.values() if t.node_id and (t.node_id in text or (t.node and t.node in text))}
        missing = named or {t.node_id for t in self._tasks.values() if t.node_id not in self._seen_nodes}
        self._read_directly([t for t in self._tasks.values() if t.current and t.node_id in missing])

    # -- names ------------------------------------------------------------------------------

    def _learn_tasks(self) -> None:
        tasks = self.session.swarm.tasks(self.service)
        self._tasks = {t.id: t for t in tasks}
        self._nodes.update({t.node_id: t.node for t in tasks if t.node})
        try:
            self._down = {n.id for n in self.session.swarm.manager().nodes() if n.status != "ready"}
        except CarinaError:
            self._down = set()

    def _node_down(self, task: TaskInfo) -> bool:
        return task.node_id in self._down

    def _label(self, task_id: str, node_id: str) -> str:
        if task_id not in self._tasks:
            try:
                self._learn_tasks()  # a task made since (a scale, an update)
            except CarinaError:
                pass
        task = self._tasks.get(task_id)
        name = task.name if task else f"{self.service.name}.{task_id[:12]}"
        node = self._nodes.get(node_id) or (task.node if task else "") or node_id[:12]
        if task is None:
            self._tasks[task_id] = TaskInfo(id=task_id, service_id=self.service.id, name=name, node_id=node_id)
        return f"{name}@{node}"
