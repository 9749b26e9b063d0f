"""Engine addresses as the docker CLI writes them: ``tcp://host:port``, ``unix:///path``, ``ssh://user@host``.

Pure string work, shared by the config reader, discovery and the TLS rules (``check_endpoint``:
no plain ``tcp://`` to a remote engine, checked for every session).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from carina_tui.core.errors import TLSProblem

if TYPE_CHECKING:
    from carina_tui.core.clusters import ClusterSpec

SCHEMES = ("tcp", "unix", "ssh")
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class BadEndpoint(ValueError):
    """``str(err)`` is the reason, worded to follow "the endpoint X ..."."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    scheme: str  # tcp | unix | ssh
    host: str = ""  # tcp, ssh
    port: int | None = None
    path: str = ""  # unix
    user: str = ""  # ssh

    @property
    def loopback(self) -> bool:
        """Traffic that never leaves the machine: a Unix socket, or a loopback address."""
        return self.scheme == "unix" or is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1. Other names are not resolved: they count as remote."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_endpoint(url: str) -> Endpoint:
    """Parse an engine address; raise BadEndpoint saying what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise BadEndpoint("is empty; write it like tcp://203.0.113.10:2376 or unix:///var/run/docker.sock")
    text = url.strip()
    if "://" not in text:
        raise BadEndpoint("has no scheme; write it like tcp://203.0.113.10:2376 or unix:///var/run/docker.sock")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise BadEndpoint(f"is not a valid address ({exc})") from None
    try:
        port = parts.port
    except ValueError:  # not digits, out of range, or more digits than int() takes
        raise BadEndpoint("is not a valid address: its port must be a number between 1 and 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadEndpoint(f'uses the scheme "{scheme}://"; use tcp://, unix:// or ssh://')
    if parts.query or parts.fragment:
        raise BadEndpoint('has a "?" or "#" part, which an engine address cannot have')
    if scheme == "unix":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise BadEndpoint("names no socket; write it like unix:///var/run/docker.sock")
        if not path.startswith("/"):
            path = "/" + path  # docker treats unix://x/y as unix:///x/y
        return Endpoint("unix", path=path)
    host = parts.hostname or ""
    if not host:
        raise BadEndpoint(f"names no host; write it like {scheme}://203.0.113.10" + (":2376" if scheme == "tcp" else ""))
    if parts.path not in ("", "/"):
        raise BadEndpoint(f'has a path ("{parts.path}"), which a {scheme}:// address cannot have')
    if scheme == "tcp":
        if port is None:
            raise BadEndpoint("has no port; add it, for example :2376 for TLS or :2375 without")
        if parts.username or parts.password:
            raise BadEndpoint("holds a user name or password, which a tcp:// address cannot have")
    if port is not None and not 0 < port < 65536:
        raise BadEndpoint(f"has the port {port}, which is not between 1 and 65535")
    return Endpoint(scheme, host=host, port=port, user=parts.username or "")


def endpoint_key(url: str) -> str:
    """One spelling per engine, to tell whether two addresses reach the same one: scheme and
    host in lower case, an IP address in its short form, every loopback name as ``localhost``
    (a rule that applies to more than it must errs on the safe side), ssh's port 22 written out,
    no user, no trailing ``/``, and a socket by its real path (``/var/run`` is often a link to
    ``/run``). An address that does not parse is its own stripped text."""
    try:
        endpoint = parse_endpoint(url)
    except BadEndpoint:
        return url.strip()
    if endpoint.scheme == "unix":
        return "unix://" + os.path.realpath(endpoint.path)
    host = endpoint.host.lower().rstrip(".")
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    if is_loopback(host):
        host = "localhost"
    port = endpoint.port if endpoint.port is not None else 22  # tcp:// always has one
    return f"{endpoint.scheme}://{host}:{port}"


def endpoint_problem(url: str) -> str:
    """'' when ``url`` is a usable engine address, else the reason (see parse_endpoint)."""
    try:
        parse_endpoint(url)
    except BadEndpoint as exc:
        return str(exc)
    return ""


def protection(urls, tls: bool) -> str:
    """What keeps the traffic to these engines private, for the Clusters pane's TLS column: "ssh"
    when every one is reached over ssh:// (encrypted by SSH, no TLS needed), else "on" or "off"."""
    urls = tuple(urls)
    if urls and all(u.strip().lower().startswith("ssh://") for u in urls):
        return "ssh"
    return "on" if tls else "off"


def check_endpoint(spec: ClusterSpec) -> None:
    """Refuse a ``tcp://`` endpoint that is not loopback and has no TLS, unless ``insecure = true``."""
    for url in spec.endpoints:
        try:
            endpoint = parse_endpoint(url)
        except BadEndpoint as exc:
            raise TLSProblem(f'The engine address "{url}" of {spec.name} {exc}.') from None
        if endpoint.scheme != "tcp" or spec.tls is not None or endpoint.loopback or spec.insecure:
            continue
        where = f" for [clusters.{spec.name}] in {spec.origin}" if spec.source == "config" else " in a [clusters.NAME] entry of clusters.toml"
        raise TLSProblem(
            f"carina-tui will not connect to {url} without TLS: anyone on that network could read and change "
            f"what is sent to the engine. Give the cluster its CA, certificate and key (tls_ca, tls_cert, "
            f"tls_key; or DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), or, on a network you trust, set "
            f"insecure = true{where}."
        )
