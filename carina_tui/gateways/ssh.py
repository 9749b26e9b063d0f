"""Engines behind ``ssh://[user@]host[:port]``: one SSH connection per engine, HTTP over its channels.

docker-py's own SSH support is not used as it stands: its paramiko mode turns
``ssh://alias`` into port 22 before it reads ``~/.ssh/config`` (so an alias's
``Port`` is lost), knows no ``ProxyJump``, and lets paramiko's exceptions out
raw; its ``use_ssh_client`` mode starts one ``ssh`` process per request. Here:

* ``resolve`` reads ``~/.ssh/config`` (paramiko's parser, ``$HOME`` as the rest
  of the console) the way ``ssh`` does: the URL's user and port win, then the
  alias's ``HostName``, ``Port``, ``User``, ``IdentityFile`` (the default keys
  only when it names none), ``ProxyJump`` (hops through SSH channels of their
  own) or ``ProxyCommand``, ``UserKnownHostsFile``.
* ``SSHLink`` is the one SSH connection (a paramiko transport) to the engine's
  host; keys come from ``IdentityFile``, the agent (``SSH_AUTH_SOCK``) and, with
  no ``IdentityFile``, ``~/.ssh/id_*``. The host key must be in known_hosts: an
  unknown or changed one is refused with a sentence, never accepted.
* Each HTTP connection docker-py keeps is a channel of that transport running
  ``docker system dial-stdio`` there (what the docker CLI does over ssh), so
  calls in parallel, the event stream and log follows share one connection.
* ``api_client`` gives docker-py's ``APIClient`` with that adapter mounted; every
  SSH failure is a ``SSHProblem`` sentence naming its cause.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import threading
from dataclasses import dataclass

from carina_tui.core.endpoints import parse_endpoint
from carina_tui.core.errors import CarinaError, SSHProblem
from carina_tui.gateways.lazy import IMPORT_LOCK

with IMPORT_LOCK:
    import docker
    import requests.exceptions
    import urllib3
    from docker.transport.basehttpadapter import BaseHTTPAdapter
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

DIAL = "docker system dial-stdio"
# Channels open at once per engine, busy or kept for reuse (a stream holds one while it lasts): sshd
# allows 10 sessions on one connection (MaxSessions); one more is left for ``diagnose``.
CHANNELS = 8
KEEPALIVE = 15  # seconds between SSH keepalives: a dead link is noticed
IDLE_WAKE = 1.0  # seconds between two wake-ups of paramiko's reader thread while nothing comes
BASE_URL = "http+docker://ssh"


def _paramiko():
    try:
        import paramiko
    except ImportError:
        return None
    return paramiko


def _config_file() -> str:
    return os.path.expanduser("~/.ssh/config")


@dataclass(frozen=True, slots=True)
class Route:
    """Where ``ssh://alias`` leads once ``~/.ssh/config`` is applied."""

    alias: str
    host: str
    port: int
    user: str
    keys: tuple[str, ...] = ()  # IdentityFile entries
    proxy_jump: str = ""
    proxy_command: str = ""
    known_hosts: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.user}@{self.host}:{self.port}"
        return where if self.alias == self.host else f"{self.alias} ({where} from ~/.ssh/config)"

    @property
    def command(self) -> str:
        """The ssh command that makes the same connection."""
        return f"ssh {self.alias}" if self.alias != self.host else f"ssh -p {self.port} {self.user}@{self.host}"

    @property
    def host_key_name(self) -> str:
        """How known_hosts names this host (``[host]:port`` off port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def resolve(url: str) -> Route:
    """The route to ``ssh://[user@]alias[:port]``: the URL's user and port, else the config's, else ssh's defaults."""
    endpoint = parse_endpoint(url)
    found: dict = {}
    paramiko = _paramiko()
    path = _config_file()
    if paramiko is not None and os.path.isfile(path):
        try:
            found = paramiko.SSHConfig.from_path(path).lookup(endpoint.host)
        except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds on a bad file
            raise SSHProblem(f"{path} cannot be read ({exc}); fix it, or reach {url} by its address.") from None
    known = tuple((found.get("userknownhostsfile") or "~/.ssh/known_hosts ~/.ssh/known_hosts2").split())
    jump = found.get("proxyjump") or ""
    command = found.get("proxycommand") or ""
    try:
        port = endpoint.port or int(found.get("port") or 22)
    except ValueError:
        raise SSHProblem(f'{path} gives {endpoint.host} the port "{found.get("port")}", which is not a number.') from None
    return Route(
        alias=endpoint.host,
        host=found.get("hostname") or endpoint.host,
        port=port,
        user=endpoint.user or found.get("user") or getpass.getuser(),
        keys=tuple(os.path.expanduser(k) for k in found.get("identityfile") or ()),
        proxy_jump="" if jump.lower() == "none" else jump,
        proxy_command="" if command.lower() == "none" else command,
        known_hosts=tuple(os.path.expanduser(k) for k in known) + ("/etc/ssh/ssh_known_hosts",),
    )


class _HostKeyNotKnown(Exception):
    def __init__(self, route: Route, key) -> None:
        super().__init__(route.host_key_name)
        self.route = route
        self.key = key


def _sha256(key) -> str:
    import base64
    import hashlib

    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class SSHLink:
    """One SSH connection to an engine's host (through its jump hosts), and channels over it."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.route = resolve(url)
        self._clients: list = []  # jump hosts first, the engine's host last

    # -- connecting ---------------------------------------------------------------------

    def open(self) -> None:
        paramiko = _paramiko()
        if paramiko is None:
            raise SSHProblem(
                f"Reaching {self.url} needs the paramiko package, which is not installed: "
                "pip install 'docker[ssh]' (carina-tui's own install brings it)."
            )
        logging.getLogger("paramiko").addHandler(logging.NullHandler())  # its errors become our sentences
        sock = None
        try:
            if self.route.proxy_jump:
                sock = self._through_jumps(self.route)
            elif self.route.proxy_command:
                sock = paramiko.ProxyCommand(self.route.proxy_command)
            self._clients.append(self._login(self.route, sock))
        except BaseException:
            self.close()
            raise

    def _through_jumps(self, route: Route):
        """A channel to ``route``'s host through each ``ProxyJump`` hop in turn, as ``ssh -J`` does
        (the first hop with its own ProxyJump, if it has one)."""
        hops = [resolve(h.strip() if "://" in h else f"ssh://{h.strip()}") for h in route.proxy_jump.split(",")]
        sock = self._through_jumps(hops[0]) if hops[0].proxy_jump else None
        for hop, after in zip(hops, [*hops[1:], route]):
            self._clients.append(self._login(hop, sock, jump=True))
            try:
                sock = self._clients[-1].get_transport().open_channel(
                    "direct-tcpip", (after.host, after.port), ("127.0.0.1", 0), timeout=self.timeout)
            except Exception as exc:  # noqa: BLE001 - paramiko's ChannelException, SSHException
                raise SSHProblem(
                    f"The jump host {hop} could not reach {after.host}:{after.port} on the way to {self.url} "
                    f"({_reason(exc)}): check HostName and Port of {after.alias} in ~/.ssh/config."
                ) from None
        return sock

    def _login(self, route: Route, sock, jump: bool = False):
        paramiko = _paramiko()
        client = paramiko.SSHClient()
        for path in route.known_hosts:
            if os.path.isfile(path):
                try:
                    client.load_system_host_keys(path)
                except (OSError, paramiko.SSHException):
                    pass  # an unreadable file holds no key we could trust

        class Refuse(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client, hostname, key):
                raise _HostKeyNotKnown(route, key)

        client.set_missing_host_key_policy(Refuse())
        keys = [k for k in route.keys if os.path.isfile(k)]
        try:
            client.connect(
                route.host, port=route.port, username=route.user, key_filename=keys or None,
                allow_agent=True, look_for_keys=not route.keys, sock=sock, timeout=self.timeout,
                banner_timeout=self.timeout, auth_timeout=self.timeout, channel_timeout=self.timeout,
            )
        except BaseException as exc:
            client.close()
            if isinstance(exc, Exception):
                raise self._explain_login(route, exc, jump) from None
            raise
        transport = client.get_transport()
        transport.set_keepalive(KEEPALIVE)
        # paramiko's reader wakes every 0.1 s to see whether it should stop: once a second is enough
        # (closing does not wait for it), and an idle console stays idle.
        transport.sock.settimeout(IDLE_WAKE)
        return client

    def _explain_login(self, route: Route, exc: Exception, jump: bool) -> SSHProblem:
        paramiko = _paramiko()
        role = f"the jump host {route}" if jump else str(route)
        purpose = "" if not jump else f" (on the way to {self.url})"
        if isinstance(exc, _HostKeyNotKnown):
            return SSHProblem(
                f"The SSH host key of {role}{purpose} is not in known_hosts, so carina-tui does not trust it "
                f"({exc.key.get_name()} {_sha256(exc.key)}). If that is the host's key, add it: "
                f"`{route.command}` once and answer yes."
            )
        if isinstance(exc, paramiko.BadHostKeyException):
            return SSHProblem(
                f"The SSH host key of {role}{purpose} has CHANGED since known_hosts recorded it "
                f"(now {_sha256(exc.key)}, was {_sha256(exc.expected_key)}): someone may be in between, "
                "or the host was reinstalled. Nothing was sent. If the change is expected, remove the old key "
                f'with `ssh-keygen -R "{route.host_key_name}"` and connect once with ssh.'
            )
        if isinstance(exc, paramiko.PasswordRequiredException):
            return SSHProblem(
                f"The SSH key for {role}{purpose} is protected by a passphrase: add it to the agent "
                "(ssh-add KEYFILE) and start carina-tui again."
            )
        if isinstance(exc, paramiko.AuthenticationException):
            offered = ", ".join(route.keys) if route.keys else "~/.ssh/id_*"
            return SSHProblem(
                f"The SSH login of {route.user} at {role}{purpose} was refused: no key offered was accepted "
                f"({offered}, and the agent's keys). Add your public key to ~{route.user}/.ssh/authorized_keys "
                "there, or name the right key with IdentityFile in ~/.ssh/config."
            )
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError) or isinstance(exc, ConnectionRefusedError):
            return SSHProblem(
                f"Nothing accepts SSH connections at {role}{purpose}: the connection was refused, so sshd "
                "is not running there or the port is wrong."
            )
        if isinstance(exc, socket.gaierror):
            return SSHProblem(f"The host name {route.host} of {role}{purpose} does not resolve: check its spelling "
                              "or HostName in ~/.ssh/config.")
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return SSHProblem(f"SSH at {role}{purpose} did not answer within {self.timeout:g} s: check the address "
                              "and any firewall in between.")
        if isinstance(exc, paramiko.ProxyCommandFailure):
            return SSHProblem(f"The ProxyCommand for {role} failed ({_reason(exc)}): try it with `{route.command}`.")
        return SSHProblem(f"The SSH connection to {role}{purpose} failed: {_reason(exc)}.")

    # -- channels ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        client = self._clients[-1] if self._clients else None
        transport = client.get_transport() if client is not None else None
        return bool(transport is not None and transport.is_active())

    def channel(self):
        """A new channel running ``docker system dial-stdio`` on the engine's host: a byte pipe to its API.
        OSError when the link is gone or refuses (urllib3 then reports a connection error)."""
        if not self.alive:
            raise ConnectionResetError(f"the SSH connection to {self.route} is closed")
        transport = self._clients[-1].get_transport()
        try:
            chan = transport.open_session(timeout=self.timeout)
            chan.settimeout(self.timeout)
            chan.exec_command(DIAL)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - paramiko's SSHException, ChannelException, EOFError
            raise ConnectionResetError(f"SSH to {self.route} refused a new channel ({_reason(exc)})") from None
        return _Pipe(chan)

    def diagnose(self, what: str) -> CarinaError:
        """Why a call over this link found no engine: the link is gone, or ``docker system dial-stdio``
        there fails (no docker CLI, no engine), with what it said."""
        if not self.alive:
            return SSHProblem(f"Could not {what}: the SSH connection to {self.route} was lost; "
                              "carina-tui connects again on the next call.")
        try:
            chan = self.channel()
            try:
                chan.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            except OSError:
                pass  # it ended at once: what it said on stderr tells why
            answer = b""
            while len(answer) < 4096:
                piece = chan.recv(4096)
                if not piece:
                    break
                answer += piece
            said = b""
            while chan.recv_stderr_ready() or not chan.exit_status_ready():
                piece = chan.recv_stderr(4096)
                if not piece:
                    break
                said += piece
            status = chan.recv_exit_status() if chan.exit_status_ready() else None
            chan.close()
        except OSError as exc:
            return SSHProblem(f"Could not {what}: {exc}.")
        if answer.startswith(b"HTTP/1.1 200"):
            return SSHProblem(f"Could not {what}: the engine behind {self.route} did not answer in time; "
                              "it answers a ping now, so try again.")
        text = " ".join(said.decode("utf-8", "replace").split()) or f"exit status {status}"
        return SSHProblem(
            f"Could not {what}: SSH to {self.route} works, but `{DIAL}` there failed: {text.rstrip('.')}. "
            "The docker CLI must be installed there and its engine running (DOCKER_HOST there picks which)."
        )

    def close(self) -> None:
        clients, self._clients = self._clients, []
        for client in reversed(clients):
            client.close()


class _Pipe:
    """A channel as a socket, for http.client (docker-py's connections) and for the connections of
    our own that ``exec_gateway`` reads and writes (``recv``, ``sendall``, ``settimeout``, ``fileno``
    for select, ``shutdown``, ``close``): what paramiko raises when the connection under it ends
    (EOFError, SSHException) is a ConnectionResetError here, which urllib3 turns into a connection
    error and ``exec_gateway`` into the link's sentence. Closing it ends a ``recv`` blocked in
    another thread at once."""

    def __init__(self, chan) -> None:
        self.chan = chan

    def sendall(self, data: bytes) -> None:
        _as_socket_error(self.chan.sendall, data)

    def recv(self, size: int) -> bytes:
        return _as_socket_error(self.chan.recv, size)

    def shutdown(self, how: int) -> None:
        _as_socket_error(self.chan.shutdown, how)

    def close(self) -> None:
        try:
            self.chan.close()
        except Exception:  # noqa: BLE001 - a transport that is gone: the channel is closed all the same
            pass

    def __getattr__(self, name: str):
        return getattr(self.chan, name)


def _as_socket_error(call, *args):
    try:
        return call(*args)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - EOFError, SSHException from a closing transport
        raise ConnectionResetError(f"the SSH channel closed ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


# --------------------------------------------------------------------------- docker-py adapter


class _ChannelConnection(HTTPConnection):
    """An HTTP connection whose socket is a channel of the link."""

    def __init__(self, link: SSHLink, timeout) -> None:
        super().__init__("localhost", timeout=timeout)
        self._link = link

    def connect(self) -> None:
        self.sock = self._link.channel()

    @property
    def is_connected(self) -> bool:
        # Without select(): paramiko makes a pipe per channel for fileno().
        chan = self.sock
        return chan is not None and not (chan.closed or chan.eof_received or chan.recv_ready())


class _ChannelPool(HTTPConnectionPool):
    """At most ``CHANNELS`` channels: a call waits for one to be free (up to the timeout)."""

    def __init__(self, link: SSHLink) -> None:
        super().__init__("localhost", timeout=link.timeout, maxsize=CHANNELS, block=True)
        self._link = link

    def _new_conn(self) -> HTTPConnection:
        return _ChannelConnection(self._link, self.timeout.connect_timeout)

    def _get_conn(self, timeout=None):
        try:
            return super()._get_conn(timeout=self._link.timeout if timeout is None else timeout)
        except urllib3.exceptions.EmptyPoolError:
            raise ConnectionRefusedError(f"all {CHANNELS} SSH channels to {self._link.route} stayed busy for "
                                         f"{self._link.timeout:g} s") from None

    def warm(self) -> None:
        """Open one more channel now, beside the first call's, so that a call made while another is
        busy finds it ready (starting ``dial-stdio`` there takes a while; the console always has
        its event stream beside its other calls)."""
        try:
            conn = self._get_conn(timeout=0)
        except OSError:
            return
        try:
            if conn.sock is None:
                conn.connect()
        except Exception:  # noqa: BLE001 - the call that needs a channel will say what is wrong
            conn.close()
        self._put_conn(conn)


class ChannelAdapter(BaseHTTPAdapter):
    """requests' adapter for ``http+docker://ssh``: one pool of channels over the engine's link."""

    def __init__(self, link: SSHLink) -> None:
        self.link = link
        self.pool = _ChannelPool(link)
        super().__init__()

    def get_connection(self, url, proxies=None):
        return self.pool

    def request_url(self, request, proxies):
        return request.path_url

    def close(self) -> None:
        super().close()
        self.pool.close()
        self.link.close()


def api_client(url: str, timeout: float) -> docker.APIClient:
    """docker-py's client for the engine behind ``url``, over one SSH connection, its API version
    asked once. Raises ``SSHProblem`` (or another ``CarinaError``) with the cause."""
    link = SSHLink(url, timeout)
    link.open()
    try:
        # A client made for a TCP address connects nowhere; the adapter then takes its requests,
        # as docker-py's own ssh:// branch mounts its adapter.
        client = docker.APIClient(base_url="tcp://127.0.0.1:9", timeout=timeout,
                                  version=docker.constants.DEFAULT_DOCKER_API_VERSION)
        for prefix in ("http://", "https://"):
            client.adapters.pop(prefix, None)
        adapter = ChannelAdapter(link)
        client.mount(BASE_URL, adapter)
        client.base_url = BASE_URL
        threading.Thread(target=adapter.pool.warm, name="carina-ssh-warm", daemon=True).start()
        try:
            client._version = client.version(api_version=False)["ApiVersion"]
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
            raise link.diagnose("reach the engine") from None
        except (docker.errors.APIError, KeyError, ValueError) as exc:
            raise SSHProblem(f"The engine behind {link.route} did not tell its API version ({_reason(exc)}).") from None
    except BaseException:
        link.close()
        raise
    return client


def link_of(client) -> SSHLink | None:
    """The SSH connection under a client ``api_client`` made (None for any other client)."""
    adapter = client.adapters.get(BASE_URL) if client is not None else None
    return adapter.link if isinstance(adapter, ChannelAdapter) else None


class ClosableStream:
    """An event or log stream whose ``close()``, from any thread, ends the reading (docker-py's
    ``CancellableStream.close`` refuses SSH): it closes the stream's channel."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def close(self) -> None:
        try:
            channel = self._stream._response.raw._fp.fp.channel
        except AttributeError:
            return  # already closed and released
        channel.close()
