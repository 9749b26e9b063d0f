"""The one module that owns docker-py.

``DockerGateway`` talks to one engine (one endpoint). It returns our frozen
dataclasses (``carina_tui.core.models``) and raises our errors
(``carina_tui.core.errors``) with a sentence; no docker-py object or exception
leaves this module.

Reads are plain methods. Mutating methods take a ``Permit`` as their first
argument, which only the guard issues (``carina_tui.guard``). Lists use the
low-level API: one ``GET /containers/json`` instead of docker-py's
``containers.list()``, which inspects every container one by one.

On a unix socket the reads the console starts with (info, the lists) are plain
HTTP on kept-alive connections (``unix_http``), converted by the same methods;
docker-py (and requests) load on the first call that needs them (``lazy``),
after the first frame.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from urllib.parse import quote, urlencode
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from carina_tui.core import api_versions
from carina_tui.core.clusters import TLSFiles
from carina_tui.core.errors import (
    CarinaError,
    Conflict,
    EngineRefused,
    EngineUnreachable,
    NotFound,
    Unanswered,
)
from carina_tui.core.models import (
    ContainerDetail,
    ContainerInfo,
    EngineEvent,
    EngineInfo,
    ImageInfo,
    IPAMConfig,
    NetworkAttachment,
    NetworkDetail,
    NetworkInfo,
    NetworkMember,
    NodeInfo,
    PortBinding,
    pairs,
)
from carina_tui.core.permit import Permit, require
from carina_tui.gateways import api_version, head_start
from carina_tui.gateways.exec_gateway import ExecMixin
from carina_tui.gateways.lazy import IMPORT_LOCK, Lazy
from carina_tui.gateways.storage import StorageGateway, volume_names
from carina_tui.gateways.swarm_gateway import SERVICE_ID_LABEL, SwarmGateway
from carina_tui.gateways.unix_http import DEFAULT_TIMEOUT, Answer, EarlyAnswers, UnixKeepAlive, json_array
from carina_tui.gateways.unix_http import Unanswered as SentUnanswered

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.core.specs import NetworkSpec, RunSpec

# The names of an image (tags, digests) are read again when older than this: a tag can move any time.
IMAGE_NAMES_MAX_AGE = 1.0


def _load_docker():
    with IMPORT_LOCK:
        import docker
        import docker.errors
    return docker


def _load_requests():
    with IMPORT_LOCK:
        import requests.exceptions
    return requests


docker = Lazy(_load_docker)
requests = Lazy(_load_requests)


def _tls_module():
    # Imported lazily: TLS is only needed for tcp:// endpoints.
    from carina_tui.gateways import tls

    return tls


def _ssh_module():
    # Imported lazily: only ssh:// endpoints need it (and paramiko).
    from carina_tui.gateways import ssh

    return ssh


class DockerGateway(SwarmGateway, ExecMixin, StorageGateway):
    """One engine. Thread-safe for concurrent calls (requests' pool is). Mixins: swarm services and
    tasks (``SwarmGateway``, ``swarm_gateway``); a shell and live stats (``ExecMixin``, ``exec_gateway``);
    images and volumes (``StorageGateway``, ``storage``)."""

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        tls: TLSFiles | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        node: str = "",
        api_pin: str = "",
    ) -> None:
        self.url = url
        # The API version spoken with this engine: pinned (here or DOCKER_API_VERSION), else the engine's own.
        self.pinned = api_pin or api_version.pinned_from_env()
        self.key = key or url
        self.tls = tls
        self.timeout = timeout
        self.node = node  # the engine's name once known (``docker info`` Name)
        self._api: docker.APIClient | None = None
        self._lock = threading.Lock()
        # Set by close(): a worker still running for a console that has let go (a cluster switch,
        # quit) must not open a new client, and over ssh:// a new SSH connection nobody closes.
        self._closed = False
        # Container removal by the thousand (cleanup) goes over kept-alive connections: see unix_http.
        # Names of the containers and networks this gateway has met, so that a sentence names them
        # ("could not stop web"), never by a bare id when a name exists.
        self._labels: dict[str, str] = {}
        self._keepalive = UnixKeepAlive(url[len("unix://"):], timeout) if url.startswith("unix://") else None
        # What a container's image goes by (see ``_image_refs``): image id -> its tags and repo digests,
        # from the engine's image list; container id -> the image name it was created from (Config.Image),
        # for the containers the list shows by image id (their tag has moved, or they were made from an id).
        self._image_names: dict[str, tuple[str, ...]] = {}
        self._image_names_read = float("-inf")
        self._image_lock = threading.Lock()
        self._created_from: dict[str, str] = {}

    # -- connection -----------------------------------------------------------------

    @property
    def api(self) -> docker.APIClient:
        with self._lock:
            if self._api is None:
                if self._closed:
                    raise EngineUnreachable(f"The console has closed its connection to {self.url}.")
                self._api = self._connect()
            return self._api

    def _connect(self) -> docker.APIClient:
        if self.url.startswith("ssh://"):
            return _ssh_module().api_client(self.url, self.timeout)
        tls_config: Any = False
        if self.tls is not None:
            tls = _tls_module()
            tls.preflight(self.tls)
            tls_config = tls.docker_tls_config(self.tls, self.url)
            if not self.tls.verify:
                # The user chose an unverified engine; a warning per request would spill onto the screen.
                import urllib3

                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        try:
            api = docker.APIClient(
                base_url=self.url, version=self.pinned or "auto", timeout=self.timeout, tls=tls_config
            )
        except docker.errors.InvalidVersion as exc:
            raise api_version.invalid(str(exc), "reach the engine", f"the engine at {self.url}", self.pinned) from None
        except docker.errors.DockerException as exc:
            raise self._explain_connect(exc) from None
        if self.tls is not None:
            _tls_module().pin_ca(api, self.tls)
        return api

    def _explain_connect(self, exc: BaseException) -> CarinaError:
        # Also without TLS: plain HTTP sent to a TLS port gets its own sentence.
        problem = _tls_module().explain(exc, self.url, self.tls)
        if problem is not None:
            return problem
        text = str(exc)
        if "Invalid bind address" in text or "Invalid" in text and "URL" in text:
            return EngineUnreachable(
                f"{self.url} is not an engine address docker understands; use unix:///path, "
                "tcp://host:port or ssh://user@host."
            )
        if "Permission denied" in text:
            return EngineUnreachable(
                f"Permission to open {self.url} was denied; run as a user in the docker group "
                "or point --host at an engine you may use."
            )
        return EngineUnreachable(
            f"No Docker engine answers at {self.url}; start dockerd there, or choose another "
            "engine with --host, DOCKER_HOST or a Docker context."
        )

    def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.close()
        with self._lock:
            self._closed = True
            if self._api is not None:
                try:
                    self._api.close()
                finally:
                    self._api = None

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """Turn every docker-py / requests failure into one of our errors with a sentence."""
        try:
            yield
        except CarinaError:
            raise
        except docker.errors.InvalidVersion as exc:
            raise api_version.invalid(str(exc), what, f"the engine at {self.url}", self.api_version) from None
        except docker.errors.NotFound as exc:
            raise NotFound(f"Could not {what}: {_engine_message(exc)}.") from None
        except docker.errors.APIError as exc:
            message = _engine_message(exc)
            self._refused_version(message)
            if exc.status_code == 409:
                raise Conflict(f"Could not {what}: {message}.") from None
            raise EngineRefused(f"Could not {what}: the engine said {message!r}.") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            problem = self._ssh_problem(what)
            if problem is not None:
                raise problem from None
            self._drop_connection()
            problem = _tls_module().explain(exc, self.url, self.tls)
            if problem is not None:
                raise problem from None
            raise self._no_answer(what) from None
        except docker.errors.DockerException as exc:
            self._drop_connection()
            raise self._explain_connect(exc) from None
        except requests.exceptions.RequestException as exc:
            raise EngineUnreachable(
                f"Could not {what}: talking to {self.url} failed ({type(exc).__name__})."
            ) from None
        except OSError as exc:
            # requests raises a bare OSError when a TLS file it was handed is not there any more
            # ("Could not find a suitable TLS CA certificate bundle"): the cluster's credentials
            # were removed or replaced while the console runs.
            self._drop_connection()
            raise self._explain_os_error(what, exc) from None

    def _ssh_problem(self, what: str, link: Any = None) -> CarinaError | None:
        """Over ssh://, why a call found no engine (``SSHLink.diagnose``); the SSH connection is shared,
        so it is dropped (the next call connects again) only when it is gone. None for other engines."""
        if link is None and self.url.startswith("ssh://"):
            link = _ssh_module().link_of(self._api)
        if link is None:
            return None
        problem = link.diagnose(what)
        if not link.alive:
            self._drop_connection()
        return problem

    def _explain_os_error(self, what: str, exc: OSError) -> CarinaError:
        if self.tls is not None:
            try:
                _tls_module().preflight(self.tls)  # names the file that is missing or wrong
            except CarinaError as problem:
                return problem
        return EngineUnreachable(
            f"Could not {what}: talking to {self.url} failed ({exc.strerror or exc}); "
            "check that the engine runs and that its TLS files are in place."
        )

    def _no_answer(self, what: str) -> EngineUnreachable:
        return EngineUnreachable(
            f"Could not {what}: the engine at {self.url} did not answer; check that it is running and reachable."
        )

    def _api_version(self) -> str:
        """The API version for a kept-alive request's path: as the engine's last answer said (no
        docker-py, and no GET /version to an engine that may be stuck), else docker-py's."""
        assert self._keepalive is not None
        return self.pinned or self._keepalive.api_version or self.api.api_version

    @property
    def api_version(self) -> str:
        """The API version spoken with this engine (pinned, else as the engine said; asks if not known yet)."""
        if self.pinned:
            return self.pinned
        if self._keepalive is not None:
            return self._api_version()
        with self._lock:
            if self._api is not None:
                return self._api.api_version
        with self._call("ask the engine its API version"):
            return self.api.api_version

    def require_api(self, feature: str) -> None:
        """``ApiTooOld`` with a sentence when this engine's API lacks ``feature`` (core.api_versions)."""
        api_versions.require(f"The engine at {self.url}", self.api_version, feature)

    def _refused_version(self, message: str) -> None:
        """The engine refused the version in the path: say which, and ask it again next time."""
        refusal = api_version.refused_version(message, f"The engine at {self.url}", self.pinned)
        if refusal is not None:
            self._drop_connection()  # docker-py asks again; the refusal's Api-Version header already told unix_http
            raise refusal

    def take_early(self, answers: EarlyAnswers | None) -> None:
        """Answers to GETs sent before this gateway existed (``head_start``), for its next GETs of the
        same bytes, when they went to its socket; None: no more."""
        if self._keepalive is not None:
            self._keepalive.early = answers

    def _read(self, what: str, target: str, via_api: Callable[[Any], Any]) -> Any:
        """A read: plain ``GET target`` on a unix socket, else ``via_api(docker-py's client)``."""
        if self._keepalive is not None:
            return self._get(what, target)
        with self._call(what):
            return via_api(self.api)

    def _get(self, what: str, target: str, read: Callable[[bytes], Any] = json.loads) -> Any:
        """``GET target`` on the kept-alive unix socket (no docker-py): ``read(body)``, with
        ``_call``'s sentences for what goes wrong."""
        assert self._keepalive is not None
        try:
            answer = self._keepalive.get(api_version.versioned(target, self.pinned))
        except SentUnanswered:
            raise self._no_answer(what) from None
        except OSError as exc:  # not sent: no socket there, refused, not allowed
            raise self._explain_connect(exc) from None
        self._raise_for(answer, what)
        try:
            return read(answer.body)
        except ValueError:
            raise EngineRefused(f"Could not {what}: the engine's answer is not the JSON it should be.") from None

    def _drop_connection(self) -> None:
        # Next call reconnects (and re-negotiates the API version).
        with self._lock:
            api, self._api = self._api, None
        if api is not None:
            try:
                api.close()
            except Exception:  # noqa: BLE001 - closing a dead pool must not mask the real error
                pass

    # -- reads ----------------------------------------------------------------------

    def ping(self) -> bool:
        if self._keepalive is not None:
            return self._get("reach the engine", "/_ping", read=bytes) == b"OK"
        with self._call("reach the engine"):
            return bool(self.api.ping())

    def info(self) -> EngineInfo:
        if self._keepalive is not None:
            info = self._get("read the engine's info", "/info")
            spoken = self.pinned or self._keepalive.api_version  # every answer says it: no GET /version
            api_version.check_minimum(f"The engine at {self.url}", spoken)
        else:
            with self._call("read the engine's info"):
                api = self.api
                info = api.info()
                spoken = api.api_version or ""
        swarm = info.get("Swarm") or {}
        state, role = head_start.swarm_role(info)
        plugins = (info.get("Plugins") or {}).get("Network") or ()
        self.node = info.get("Name") or self.node
        return EngineInfo(
            endpoint=self.key,
            name=info.get("Name") or "",
            engine_id=info.get("ID") or "",
            version=info.get("ServerVersion") or "",
            api_version=spoken,
            os=info.get("OperatingSystem") or "",
            swarm_state=state,
            swarm_role=role,
            swarm_node_id=swarm.get("NodeID") or "",
            swarm_nodes=int(swarm.get("Nodes") or 0),
            swarm_managers=int(swarm.get("Managers") or 0),
            containers=int(info.get("Containers") or 0),
            running=int(info.get("ContainersRunning") or 0),
            stopped=int(info.get("ContainersStopped") or 0),
            drivers=tuple(sorted(set(plugins) | ({"overlay"} if state == "active" else set()))),
            clock=engine_clock(info.get("SystemTime")),
        )

    def containers(self, ids: Iterable[str] | None = None, *, network: NetworkInfo | None = None,
                   running: bool = False, limit: int | None = None) -> list[ContainerInfo]:
        """All containers (one list call), or just those with the given ids, or every one attached
        to ``network``, running or not (network inspect lists only the running ones); ``running``:
        only running ones; ``limit``: only the newest ``limit`` (the engine stops looking there)."""
        filters: dict[str, list[str]] = {}
        if ids is not None:
            ids = list(ids)
            if not ids:
                return []
            filters["id"] = ids
        if network is not None:
            # By name too: a container created but never started has no network id yet.
            filters["network"] = [network.id, network.name]
        if running:
            filters["status"] = ["running"]
        if self._keepalive is not None:
            raw = self._get("list containers", head_start.containers_target(filters, limit),
                            read=lambda body: list(json_array(body)))
        else:
            with self._call("list containers"):
                raw = self.api.containers(all=True, filters=filters or None, limit=limit or -1)
        for c in raw:
            cid = c.get("Id") or ""
            if c.get("Image") and c.get("Image") == c.get("ImageID") and cid not in self._created_from:
                try:
                    self._created_from[cid] = (self._inspect(cid).get("Config") or {}).get("Image") or ""
                except NotFound:
                    pass  # removed since the list: its row goes with the next event
        if not filters and not limit:
            listed = {c.get("Id") for c in raw}
            for cid in [k for k in self._created_from if k not in listed]:
                self._created_from.pop(cid, None)
        names = self._names_of_images({c.get("ImageID") or "" for c in raw})
        return [self._container(c, names) for c in raw]

    def container(self, container_id: str) -> ContainerInfo:
        """A fresh look at one container (inspect), as the guard needs before acting."""
        return self._container_from_inspect(self._inspect(container_id))

    def inspect_container(self, container_id: str) -> ContainerDetail:
        return self._container_detail(self._inspect(container_id))

    def _inspect(self, container_id: str) -> dict:
        """The engine's inspect document; over a kept-alive connection on a unix socket."""
        what = f"inspect container {self._label(container_id)}"
        with self._call(what):
            if self._keepalive is None:
                return self.api.inspect_container(container_id)
            version = self._api_version()
            try:
                answer = self._keepalive.get(f"/v{version}/containers/{quote(container_id)}/json")
            except OSError as exc:
                raise requests.exceptions.ConnectionError(str(exc)) from None
        self._raise_for(answer, what)
        return answer.json()

    def _names_of_images(self, image_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """image id -> its tags and repo digests. Read from the engine's image list when one of
        ``image_ids`` is not known yet or what is known is older than ``IMAGE_NAMES_MAX_AGE``."""
        wanted = {i for i in image_ids if i}
        if not wanted:
            return self._image_names
        asked = time.monotonic()
        if wanted <= self._image_names.keys() and asked - self._image_names_read <= IMAGE_NAMES_MAX_AGE:
            return self._image_names
        with self._image_lock:
            if self._image_names_read < asked:  # nobody read them while this thread waited
                names = {i.id: i.tags + i.digests for i in self._list_images()}
                # An id the list does not hold (an intermediate image) is known to have no name.
                names.update({i: () for i in wanted if i not in names})
                self._image_names, self._image_names_read = names, time.monotonic()
            return self._image_names

    def settled(self, container_id: str, within: float = 0.0, step: float = 0.1) -> ContainerDetail:
        """A fresh look at a container just acted on. With ``within``, a running one is looked at
        again until it stops or ``within`` seconds pass: a container that exits at once is then
        reported as exited, with its code, not as running."""
        deadline = time.monotonic() + within
        while True:
            detail = self.inspect_container(container_id)
            if detail.container.state != "running" or time.monotonic() >= deadline:
                return detail
            time.sleep(step)

    def networks(self) -> list[NetworkInfo]:
        raw = self._read("list networks", head_start.NETWORKS, lambda api: api.networks())
        return [self._network(n) for n in raw]

    def network(self, network_id: str, *, aliases: bool = False) -> NetworkDetail:
        """A network and its members. ``aliases`` also inspects each member for its aliases on
        the network (one call per member): the details view wants them, the guard's checks do not."""
        with self._call(f"inspect network {self._label(network_id)}"):
            doc = self.api.inspect_network(network_id)  # verbose=False too is refused below API 1.28
        members = []
        for cid, ep in sorted((doc.get("Containers") or {}).items()):
            if cid.startswith("lb-") or cid.startswith("ep-"):
                continue
            members.append(
                NetworkMember(
                    container_id=cid,
                    name=ep.get("Name") or "",
                    ipv4=(ep.get("IPv4Address") or "").split("/")[0],
                    ipv6=(ep.get("IPv6Address") or "").split("/")[0],
                    mac=ep.get("MacAddress") or "",
                    aliases=self._aliases(cid, doc.get("Name") or "") if aliases else (),
                    node=self.node,
                )
            )
        return NetworkDetail(self._network(doc), tuple(members))

    def _aliases(self, container_id: str, network: str) -> tuple[str, ...]:
        """A member's aliases on ``network``: only the container's inspect holds them."""
        try:
            nets = (self._inspect(container_id).get("NetworkSettings") or {}).get("Networks") or {}
        except CarinaError:
            return ()  # gone since the network was inspected
        return tuple((nets.get(network) or {}).get("Aliases") or ())

    def images(self) -> list[ImageInfo]:
        return sorted(self._list_images(), key=lambda i: i.tags[:1] or ("~",))

    def _list_images(self) -> list[ImageInfo]:
        raw = self._read("list images", head_start.IMAGES, lambda api: api.images())
        return [
            ImageInfo(
                id=i.get("Id") or "",
                tags=tuple(t for t in (i.get("RepoTags") or ()) if t != "<none>:<none>"),
                digests=tuple(d for d in (i.get("RepoDigests") or ()) if d != "<none>@<none>"),
                size=int(i.get("Size") or 0),
                created=float(i.get("Created") or 0),
                labels=pairs(i.get("Labels")),
            )
            for i in raw
        ]

    def nodes(self) -> list[NodeInfo]:
        raw = self._read("list the swarm's nodes", head_start.NODES, lambda api: api.nodes())
        return sorted((self._node(n) for n in raw), key=lambda n: n.hostname)

    def events(self, on_stream: Callable[[Any], None] | None = None, since: str = "") -> Iterator[EngineEvent]:
        """Follow the engine's event stream (containers, networks, images, volumes; a manager's services and
        nodes) until it ends; with ``since`` (``EngineInfo.clock``), from that time on, not from now.

        ``on_stream`` receives the open stream, so another thread can ``close()`` it to
        stop the follower. Errors become ``EngineUnreachable``. On a unix socket the stream
        is plain HTTP (``unix_http``): following events does not load docker-py.
        """
        # a manager's swarm ones too; images and volumes for panes 6 and 7
        filters = {"type": ["container", "network", "service", "node", "image", "volume"]}
        if self._keepalive is not None:
            yield from self._unix_events(filters, on_stream, since)
            return
        with self._call("follow the engine's events"):
            stream = self.api.events(decode=True, filters=filters, **({"since": since} if since else {}))
            if on_stream is not None:
                on_stream(self._closable(stream))
            try:
                for raw in stream:
                    yield from self._events_of(raw)
            except AttributeError:
                # closing the stream from another thread ends the read with this
                return

    def _unix_events(self, filters: dict, on_stream: Callable[[Any], None] | None, since: str) -> Iterator[EngineEvent]:
        what = "follow the engine's events"
        assert self._keepalive is not None
        query = {"filters": json.dumps(filters), **({"since": since} if since else {})}
        try:
            stream = self._keepalive.stream(api_version.versioned(f"/events?{urlencode(query)}", self.pinned))
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            raise self._explain_connect(exc) from None
        except OSError:
            raise self._no_answer(what) from None
        if stream.status >= 300:
            stream.close()
            raise EngineRefused(f"Could not {what}: the engine answered with status {stream.status}.")
        if on_stream is not None:
            on_stream(stream)
        try:
            for line in stream.lines():
                yield from self._events_of(json.loads(line))
        except (OSError, ValueError):
            if not stream.closed:
                raise self._no_answer(what) from None
        finally:
            if not stream.closed:
                stream.close()

    def _closable(self, stream: Any) -> Any:
        """A stream another thread can close: docker-py's refuses to over SSH, ours closes its channel."""
        return _ssh_module().ClosableStream(stream) if self.url.startswith("ssh://") else stream

    def _events_of(self, raw: dict) -> Iterator[EngineEvent]:
        actor = raw.get("Actor") or {}
        attrs = actor.get("Attributes") or {}
        etype = raw.get("Type") or ""
        target = actor.get("ID") or raw.get("id") or ""
        if etype == "network" and "container" in attrs:
            # connect/disconnect changes the container's row too
            yield EngineEvent(self.key, "container", raw.get("Action") or "", attrs["container"])
        if etype == "container" and SERVICE_ID_LABEL in attrs:
            # a task's container started or ended: its service's running count changed (no service event says so)
            yield EngineEvent(self.key, "service", "task", attrs[SERVICE_ID_LABEL])
        yield EngineEvent(
            endpoint=self.key,
            type=etype,
            action=(raw.get("Action") or raw.get("status") or "").split(":")[0],
            id=target,
            name=attrs.get("name") or "",
            time=float(raw.get("timeNano") or 0) / 1e9,
        )

    def logs(self, container_id: str, *, tail: int = 500, follow: bool = True, on_stream=None) -> Iterator[str]:
        """The last ``tail`` lines, then (``follow``) new lines as they come."""
        with self._call(f"read the logs of {self._label(container_id)}"):
            stream = self.api.logs(container_id, stream=True, follow=follow, tail=tail)
            if on_stream is not None:
                on_stream(self._closable(stream))
            yield from self._lines(stream)

    @staticmethod
    def _lines(stream) -> Iterator[str]:
        """A docker-py byte stream as text lines; it ends quietly when another thread closes the stream."""
        pending = b""
        try:
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
        except AttributeError:
            return
        if pending:
            yield pending.decode("utf-8", "replace")

    # -- mutations (permit required; only the guard holds permits) -------------------

    def start_container(self, permit: Permit, container_id: str) -> None:
        require(permit, "container.start", container_id)
        with self._call(f"start container {self._label(container_id)}"):
            self.api.start(container_id)

    def stop_container(self, permit: Permit, container_id: str, timeout: int = 10) -> None:
        require(permit, "container.stop", container_id)
        with self._call(f"stop container {self._label(container_id)}"):
            self.api.stop(container_id, timeout=timeout)

    def restart_container(self, permit: Permit, container_id: str, timeout: int = 10) -> None:
        require(permit, "container.restart", container_id)
        with self._call(f"restart container {self._label(container_id)}"):
            self.api.restart(container_id, timeout=timeout)

    def kill_container(self, permit: Permit, container_id: str, signal: str = "KILL") -> None:
        require(permit, "container.kill", container_id)
        with self._call(f"kill container {self._label(container_id)}"):
            self.api.kill(container_id, signal=signal)

    def pause_container(self, permit: Permit, container_id: str) -> None:
        require(permit, "container.pause", container_id)
        with self._call(f"pause container {self._label(container_id)}"):
            self.api.pause(container_id)

    def unpause_container(self, permit: Permit, container_id: str) -> None:
        require(permit, "container.unpause", container_id)
        with self._call(f"unpause container {self._label(container_id)}"):
            self.api.unpause(container_id)

    def rename_container(self, permit: Permit, container_id: str, name: str) -> None:
        require(permit, "container.rename", container_id)
        with self._call(f"rename container {self._label(container_id)}"):
            self.api.rename(container_id, name)

    def update_container(self, permit: Permit, container_id: str, **changes: Any) -> None:
        require(permit, "container.update", container_id)
        with self._call(f"update container {self._label(container_id)}"):
            self.api.update_container(container_id, **changes)

    def remove_container(
        self, permit: Permit, container_id: str, *, force: bool = False, volumes: bool = False
    ) -> None:
        """Raises ``Unanswered`` when the request went out and no answer came back (the container
        may be gone or not: look before saying which)."""
        require(permit, "container.remove", container_id)
        what = f"remove container {self._label(container_id)}"
        if self._keepalive is None:
            with self._call(what):
                try:
                    self.api.remove_container(container_id, v=volumes, force=force)
                except requests.exceptions.ReadTimeout:
                    raise self._unanswered(what) from None
            return
        with self._call(what):
            version = self._api_version()
            try:
                answer = self._keepalive.request(
                    "DELETE", f"/v{version}/containers/{quote(container_id)}?v={int(volumes)}&force={int(force)}")
            except SentUnanswered:
                raise self._unanswered(what) from None
            except OSError as exc:
                raise requests.exceptions.ConnectionError(str(exc)) from None
        self._raise_for(answer, what)

    def _unanswered(self, what: str) -> Unanswered:
        return Unanswered(f"Could not {what}: the engine at {self.url} took the request but gave no answer "
                          f"within {self.timeout} s.")

    def _raise_for(self, answer: Answer, what: str) -> None:
        """Our error for an engine's error answer on a kept-alive connection (as ``_call`` for docker-py)."""
        if answer.status < 300:
            return
        message = answer.message.rstrip(".")
        self._refused_version(message)
        if answer.status == 404:
            raise NotFound(f"Could not {what}: {message}.")
        if answer.status == 409:
            raise Conflict(f"Could not {what}: {message}.")
        raise EngineRefused(f"Could not {what}: the engine said {message!r}.")

    def exec_run(self, permit: Permit, container_id: str, cmd: list[str]) -> tuple[int, str]:
        require(permit, "container.exec", container_id)
        with self._call(f"run a command in {self._label(container_id)}"):
            exec_id = self.api.exec_create(container_id, cmd)["Id"]
            output = self.api.exec_start(exec_id)
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        return (int(code) if code is not None else -1), output.decode("utf-8", "replace")

    def run_container(self, permit: Permit, name: str, spec: RunSpec) -> str:
        """Create and start a container; returns its id. On a failed start the half-made
        container is removed, so nothing is left half-done."""
        require(permit, "container.run", name)
        api = self.api
        with self._call(f"create container {name or spec.image}"):
            port_bindings = {f"{p.container_port}/{p.protocol}": (p.host_ip or "", p.host_port)
                             if p.host_port is not None else None for p in spec.ports}
            host_config = api.create_host_config(
                port_bindings={k: v for k, v in port_bindings.items() if v is not None} or None,
                restart_policy={"Name": spec.restart} if spec.restart and spec.restart != "no" else None,
                network_mode=spec.networks[0] if spec.networks else None,
            )
            networking = None
            if spec.networks:
                networking = api.create_networking_config(
                    {spec.networks[0]: api.create_endpoint_config(aliases=list(spec.aliases) or None)}
                )
            created = api.create_container(
                spec.image,
                command=list(spec.command) or None,
                name=name or None,
                environment=list(spec.env) or None,
                labels=dict(spec.labels) or None,
                ports=[(p.container_port, p.protocol) for p in spec.ports] or None,
                host_config=host_config,
                networking_config=networking,
                detach=True,
            )
        cid = created["Id"]
        try:
            with self._call(f"attach {name or cid[:12]} to its networks"):
                for extra in spec.networks[1:]:
                    api.connect_container_to_network(cid, extra)
            with self._call(f"start container {name or cid[:12]}"):
                api.start(cid)
        except CarinaError:
            try:
                api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001 - the start error is the one to report
                pass
            raise
        return cid

    def create_network(self, permit: Permit, spec: NetworkSpec) -> str:
        require(permit, "network.create", spec.name)
        if spec.attachable:
            self.require_api("network.attachable")  # an older engine would make it, silently not attachable
        ipam = None
        if spec.subnet:
            pool = docker.types.IPAMPool(
                subnet=spec.subnet, gateway=spec.gateway or None, iprange=spec.ip_range or None
            )
            ipam = docker.types.IPAMConfig(pool_configs=[pool])
        with self._call(f"create network {spec.name}"):
            created = self.api.create_network(
                spec.name,
                driver=spec.driver or None,
                options=dict(spec.options) or None,
                ipam=ipam,
                internal=spec.internal,
                labels=dict(spec.labels) or None,
                enable_ipv6=spec.ipv6,
                attachable=spec.attachable or None,
            )
        return created["Id"]

    def remove_network(self, permit: Permit, network_id: str) -> None:
        require(permit, "network.remove", network_id)
        with self._call(f"remove network {self._label(network_id)}"):
            self.api.remove_network(network_id)

    def connect_network(
        self,
        permit: Permit,
        network_id: str,
        container_id: str,
        *,
        aliases: tuple[str, ...] = (),
        ipv4: str = "",
    ) -> None:
        require(permit, "network.connect", container_id)
        with self._call(f"connect {self._label(container_id)} to network {self._label(network_id)}"):
            self.api.connect_container_to_network(
                container_id, network_id, aliases=list(aliases) or None, ipv4_address=ipv4 or None
            )

    def disconnect_network(
        self, permit: Permit, network_id: str, container_id: str, *, force: bool = False
    ) -> None:
        require(permit, "network.disconnect", container_id)
        with self._call(f"disconnect {self._label(container_id)} from network {self._label(network_id)}"):
            self.api.disconnect_container_from_network(container_id, network_id, force=force)

    def update_node_availability(self, permit: Permit, node_id: str, availability: str) -> None:
        """Drain, pause or activate a swarm node (on a manager): its spec as now, with ``availability``."""
        require(permit, "node.availability", node_id)
        with self._call(f"set node {node_id[:12]} to {availability}"):
            current = self.api.inspect_node(node_id)
            spec = {**(current.get("Spec") or {}), "Availability": availability}
            self.api.update_node(node_id, (current.get("Version") or {}).get("Index"), spec)

    # -- conversions ----------------------------------------------------------------

    def _container(self, c: dict, image_names: dict[str, tuple[str, ...]]) -> ContainerInfo:
        # Called for every container of every list (5,000 in 0.035 s here): the empty cases, the
        # most common, skip the work.
        get = c.get
        names = get("Names")
        name = _primary_name(names) if names else ""
        nets = (get("NetworkSettings") or {}).get("Networks")
        cid, image, image_id = get("Id") or "", get("Image") or "", get("ImageID") or ""
        self._labels[cid] = name
        ports = get("Ports")
        mounts = get("Mounts")
        return ContainerInfo(
            id=cid,
            name=name,
            state=(get("State") or "").lower(),
            image=image,
            endpoint=self.key,
            node=self.node,
            status=get("Status") or "",
            image_id=image_id,
            image_refs=_image_refs(image, self._created_from.get(cid, image), image_names.get(image_id, ())),
            command=get("Command") or "",
            created=float(get("Created") or 0),
            labels=pairs(get("Labels")),
            networks=_attachments(nets) if nets else (),
            ports=_list_ports(ports) if ports else (),
            mounts=volume_names(mounts) if mounts else (),
        )

    def _label(self, object_id: str) -> str:
        """A container's or network's name as last seen, else its short id (for sentences)."""
        return self._labels.get(object_id) or object_id[:12]

    def _container_from_inspect(self, doc: dict) -> ContainerInfo:
        state = doc.get("State") or {}
        config = doc.get("Config") or {}
        nets = ((doc.get("NetworkSettings") or {}).get("Networks")) or {}
        cid, image, image_id = doc.get("Id") or "", config.get("Image") or "", doc.get("Image") or ""
        if cid:
            self._created_from[cid] = image
            self._labels[cid] = (doc.get("Name") or "").lstrip("/")
        return ContainerInfo(
            id=cid,
            name=(doc.get("Name") or "").lstrip("/"),
            state=(state.get("Status") or "").lower(),
            image=image,
            endpoint=self.key,
            node=self.node,
            status=state.get("Status") or "",
            image_id=image_id,
            image_refs=_image_refs(image, image, self._names_of_images([image_id]).get(image_id, ())),
            command=" ".join((config.get("Entrypoint") or []) + (config.get("Cmd") or [])),
            created=_parse_time(doc.get("Created") or ""),
            labels=pairs(config.get("Labels")),
            networks=_attachments(nets),
            ports=tuple(_ports_from_inspect(doc)),
            mounts=volume_names(doc.get("Mounts")),
        )

    def _container_detail(self, doc: dict) -> ContainerDetail:
        state = doc.get("State") or {}
        config = doc.get("Config") or {}
        host = doc.get("HostConfig") or {}
        return ContainerDetail(
            container=self._container_from_inspect(doc),
            started_at=state.get("StartedAt") or "",
            finished_at=state.get("FinishedAt") or "",
            exit_code=state.get("ExitCode"),
            restart_policy=(host.get("RestartPolicy") or {}).get("Name") or "",
            env=tuple(config.get("Env") or ()),
            raw_json=json.dumps(doc, indent=2, sort_keys=True),
        )

    def _node(self, n: dict) -> NodeInfo:
        spec, desc = n.get("Spec") or {}, n.get("Description") or {}
        status, mgr = n.get("Status") or {}, n.get("ManagerStatus") or {}
        return NodeInfo(
            id=n.get("ID") or "",
            hostname=desc.get("Hostname") or "",
            role=spec.get("Role") or "",
            availability=spec.get("Availability") or "",
            status=status.get("State") or "",
            addr=status.get("Addr") or "",
            manager_reachability=mgr.get("Reachability") or "",
            leader=bool(mgr.get("Leader")),
            engine_version=(desc.get("Engine") or {}).get("EngineVersion") or "",
            labels=pairs(spec.get("Labels")),
        )

    def _network(self, n: dict) -> NetworkInfo:
        ipam = n.get("IPAM") or {}
        if n.get("Id"):
            self._labels[n["Id"]] = n.get("Name") or ""
        return NetworkInfo(
            id=n.get("Id") or "",
            name=n.get("Name") or "",
            driver=n.get("Driver") or "",
            scope=n.get("Scope") or "",
            endpoint=self.key,
            node=self.node,
            ipam=tuple(
                IPAMConfig(
                    subnet=cfg.get("Subnet") or "",
                    gateway=cfg.get("Gateway") or "",
                    ip_range=cfg.get("IPRange") or "",
                )
                for cfg in (ipam.get("Config") or ())
            ),
            attachable=bool(n.get("Attachable")),
            internal=bool(n.get("Internal")),
            ipv6=bool(n.get("EnableIPv6")),
            labels=pairs(n.get("Labels")),
            options=pairs(n.get("Options")),
            created=n.get("Created") or "",
        )


def _attachments(nets: dict) -> tuple[NetworkAttachment, ...]:
    """``NetworkSettings.Networks`` (from a list or an inspect) as our attachments."""
    return tuple(
        NetworkAttachment(
            network=name,
            network_id=(n or {}).get("NetworkID") or "",
            ipv4=(n or {}).get("IPAddress") or "",
            aliases=tuple((n or {}).get("Aliases") or ()),
        )
        for name, n in sorted(nets.items())
    )


def _list_ports(ports: list[dict]) -> tuple[PortBinding, ...]:
    """A list's ``Ports``, each once, in order."""
    return tuple(
        sorted(
            {
                PortBinding(
                    container_port=int(p.get("PrivatePort") or 0),
                    protocol=p.get("Type") or "tcp",
                    host_ip=p.get("IP") or "",
                    host_port=int(p["PublicPort"]) if p.get("PublicPort") else None,
                )
                for p in ports
            },
            key=lambda p: (p.container_port, p.protocol, p.host_port or 0, p.host_ip),
        )
    )


@lru_cache(maxsize=1024)  # pure, and the same few images on thousands of containers
def _image_refs(image: str, created_from: str, image_names: tuple[str, ...]) -> tuple[str, ...]:
    """Every other name a container's image goes by: the one it was created from (``Config.Image``,
    which the list replaces by the image id once the tag has moved), and its image's current tags
    and repo digests. A protection rule on an image repository is checked against all of them."""
    return tuple(dict.fromkeys(r for r in (created_from, *image_names) if r and r != image))


def _primary_name(names: list[str]) -> str:
    """The container's own name among its (legacy link) names: the one with one slash."""
    for n in names:
        if n.count("/") == 1:
            return n.lstrip("/")
    return names[0].lstrip("/") if names else ""


def _ports_from_inspect(doc: dict) -> Iterator[PortBinding]:
    ports = ((doc.get("NetworkSettings") or {}).get("Ports")) or {}
    seen = set()
    for key, bindings in sorted(ports.items()):
        port, _, proto = key.partition("/")
        if not bindings:
            b = PortBinding(int(port), proto or "tcp")
            if b not in seen:
                seen.add(b)
                yield b
            continue
        for bnd in bindings:
            b = PortBinding(
                int(port),
                proto or "tcp",
                host_ip=bnd.get("HostIp") or "",
                host_port=int(bnd["HostPort"]) if bnd.get("HostPort") else None,
            )
            if b not in seen:
                seen.add(b)
                yield b


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?")


def _moment(text: str | None) -> tuple[int, str] | None:
    """An engine's time (RFC 3339 with up to nanoseconds and its own offset; none: UTC) as whole
    seconds since the epoch and the nine digits after them; None when it is not such a time."""
    found = _RFC3339.fullmatch(text or "")
    if found is None:
        return None
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(found[1] + ("+00:00" if found[3] in (None, "Z") else found[3]))
    except ValueError:
        return None
    return int(moment.timestamp()), (found[2] or "").ljust(9, "0")


def _parse_time(text: str) -> float:
    """An engine's time in whole seconds since the epoch; 0.0 when it is not one."""
    moment = _moment(text)
    return float(moment[0]) if moment else 0.0


def engine_clock(text: str | None) -> str:
    """An engine's ``SystemTime`` as the events API's ``since`` takes a time: seconds.nanoseconds
    since the epoch; "" when it is not such a time."""
    moment = _moment(text)
    return f"{moment[0]}.{moment[1]}" if moment else ""


def _engine_message(exc: docker.errors.APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    text = (explanation or str(exc)).strip()
    return text.rstrip(".")

