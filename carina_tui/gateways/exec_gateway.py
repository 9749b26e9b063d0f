"""A shell in a container, and its live stats, through the engine's API (no docker CLI).

``ExecMixin`` is part of ``DockerGateway`` (it uses its client, its sentences and its TLS files):

* ``shell_for``: the first of ``SHELLS`` the container holds (``HEAD /containers/ID/archive``,
  which only reads);
* ``open_shell`` (a permit for ``container.exec``): exec create with a TTY, then exec start on a
  connection of our own, hijacked: the engine answers ``101 UPGRADED`` and from then on that
  socket carries the terminal both ways (with a TTY there is no stream multiplexing). The
  ``ExecShell`` it returns is that socket; its ``resize`` carries the permit it was opened with;
* ``stats``: ``GET /containers/ID/stats?stream=1`` on a connection of our own, asked as HTTP/1.0
  so the body is the bare stream (a JSON document per line); closing it from another thread
  (``on_stream`` hands it over) ends the read at once.

Connections of our own, not requests': requests reads ahead what follows the engine's answer
(the first bytes of the shell would be lost in its buffer) and cannot be closed from another
thread while it reads. Over TLS they use the cluster's CA alone (``tls.ssl_context``). Over ssh://
each is a channel of the engine's SSH connection running ``docker system dial-stdio`` there
(``SSHLink.channel``, a socket to the engine's API): closing the stream closes its channel, and a
connection that is gone or refuses is the link's sentence (``SSHLink.diagnose``).
"""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime
from functools import partial
from typing import Callable, Iterator
from urllib.parse import quote

from carina_tui.core.endpoints import parse_endpoint
from carina_tui.core.errors import CarinaError, EngineRefused, NotFound
from carina_tui.core.exec_models import SHELLS, StatsSample
from carina_tui.core.permit import Permit, require
from carina_tui.gateways.unix_http import Answer, unix_socket

MAX_HEAD = 64 * 1024  # an engine's answer head is a few hundred bytes
# The time of a reading of a container that stopped (Go's zero time): the stream stays open, empty.
STOPPED_READING = "0001-01-01T00:00:00"


class RawStream:
    """One connection of our own, after the engine's answer head: its bytes as they come."""

    def __init__(self, sock: socket.socket, early: bytes) -> None:
        self._sock = sock
        self._early = early  # what arrived with the answer's head
        self.received = 0  # bytes read from the engine after the head (early included)
        self.closed = False

    def fileno(self) -> int:
        return self._sock.fileno()

    def buffered(self) -> bytes:
        """What has arrived but no longer waits in the socket, so select() cannot see it: the
        bytes that came with the answer's head, and what TLS has decrypted but not handed out."""
        out, self._early = self._early, b""
        pending = getattr(self._sock, "pending", None)
        while pending is not None and not self.closed and pending() > 0:
            out += self._recv(pending())
        self.received += len(out)
        return out

    def read(self) -> bytes:
        """The next bytes (blocks); b"" when the engine closed the stream or it was closed here."""
        early = self.buffered()
        if early:
            return early
        data = self._recv(65536)
        self.received += len(data)
        return data

    def _recv(self, size: int) -> bytes:
        try:
            return self._sock.recv(size)
        except (OSError, ValueError):  # closed here meanwhile, or reset by the engine
            return b""

    def lines(self) -> Iterator[bytes]:
        pending = b""
        while True:
            data = self.read()
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            yield from (line for line in lines if line.strip())

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def __enter__(self) -> "RawStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ends a read blocked in another thread at once (shutdown, then close)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class ExecShell(RawStream):
    """A shell's terminal in a container: what is written goes to its TTY, what it prints is read.
    Read and written by one thread at a time (a TLS socket is not for two at once)."""

    def __init__(self, sock: socket.socket, early: bytes, exec_id: str, command: tuple[str, ...], *,
                 resize: Callable[[int, int], None], inspect: Callable[[], dict]) -> None:
        super().__init__(sock, early)
        self.exec_id = exec_id
        self.command = command
        self._resize = resize
        self._inspect = inspect

    def resize(self, rows: int, cols: int) -> None:
        """Tell the engine the terminal's size; a shell that has just ended cannot be resized: ignored."""
        try:
            self._resize(rows, cols)
        except CarinaError:
            pass

    def exit_code(self, within: float = 2.0) -> int | None:
        """The shell's exit code once the engine says it ended (None if it cannot tell)."""
        deadline = time.monotonic() + within
        while True:
            try:
                doc = self._inspect()
            except CarinaError:
                return None
            if not doc.get("Running") and doc.get("ExitCode") is not None:
                return int(doc["ExitCode"])
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


class ExecMixin:
    """``DockerGateway``'s shell and stats methods (see the module docstring)."""

    def shell_for(self, container_id: str) -> str:
        """The first of ``SHELLS`` that the container holds; ``NotFound`` naming what to do when none."""
        for path in SHELLS:
            if self._holds(container_id, path):
                return path
        raise NotFound(f"{self._label(container_id)} has neither {' nor '.join(SHELLS)}: name the command to run "
                       "for its image under [exec] in clusters.toml.")

    def _holds(self, container_id: str, path: str) -> bool:
        what = f"look for {path} in {self._label(container_id)}"
        sock, status, _, body = self._ask(what, "HEAD", f"/containers/{quote(container_id)}/archive?path={quote(path)}")
        sock.close()
        if status == 404 and b"No such container" in body:
            raise NotFound(f"Could not {what}: no such container; it was removed.")
        if status == 200:
            return True
        if status == 404:
            return False
        self._raise_for(Answer(status, body), what)
        return False

    def open_shell(self, permit: Permit, container_id: str, command: tuple[str, ...], rows: int, cols: int,
                   term: str = "xterm-256color") -> ExecShell:
        """Exec ``command`` in the container with a TTY of ``rows`` x ``cols``; its terminal."""
        require(permit, "container.exec", container_id)
        what = f"open {' '.join(command)} in {self._label(container_id)}"
        with self._call(what):
            exec_id = self.api.exec_create(container_id, list(command), stdin=True, tty=True,
                                           environment=[f"TERM={term}"] if term else None)["Id"]
        body = json.dumps({"Detach": False, "Tty": True}).encode()
        sock, status, early, answer = self._ask(what, "POST", f"/exec/{exec_id}/start", body, upgrade=True)
        if status not in (101, 200):
            sock.close()
            self._raise_for(Answer(status, answer), what)
        sock.settimeout(None)  # a shell waits for its user as long as it likes
        shell = ExecShell(sock, early, exec_id, command, resize=partial(self.resize_shell, permit, container_id, exec_id),
                          inspect=partial(self._exec_state, exec_id))
        shell.resize(rows, cols)
        return shell

    def resize_shell(self, permit: Permit, container_id: str, exec_id: str, rows: int, cols: int) -> None:
        require(permit, "container.exec", container_id)
        with self._call(f"resize the terminal of {self._label(container_id)}"):
            self.api.exec_resize(exec_id, height=rows, width=cols)

    def _exec_state(self, exec_id: str) -> dict:
        with self._call("ask how the shell ended"):
            return self.api.exec_inspect(exec_id)

    def stats(self, container_id: str, on_stream: Callable[[RawStream], None] | None = None) -> Iterator[StatsSample]:
        """The container's stats, a sample a second, until it stops (the engine goes on sending empty
        readings then: the stream ends at the first) or the stream is closed."""
        what = f"read the stats of {self._label(container_id)}"
        sock, status, early, body = self._ask(what, "GET", f"/containers/{quote(container_id)}/stats?stream=1",
                                              http10=True)
        if status != 200:
            sock.close()
            self._raise_for(Answer(status, body), what)
        sock.settimeout(None)  # a sample a second, for as long as the view is open
        stream = RawStream(sock, early)
        if on_stream is not None:
            on_stream(stream)
        try:
            for line in stream.lines():
                try:
                    raw = json.loads(line)
                    if str(raw.get("read") or "").startswith(STOPPED_READING):
                        return  # the container stopped: the engine goes on sending empty readings
                    sample = stats_sample(raw)
                except (ValueError, TypeError, AttributeError):
                    continue  # a reading the engine cut short: the next one comes in a second
                yield sample
        finally:
            stream.close()

    # -- connections of our own ---------------------------------------------------------

    def _dial(self, what: str) -> socket.socket:
        endpoint = parse_endpoint(self.url)
        if endpoint.scheme == "ssh":
            return self._channel(what)
        try:
            if endpoint.scheme == "unix":
                return unix_socket(endpoint.path, self.timeout)
            if endpoint.scheme != "tcp":
                raise EngineRefused(f"Could not {what}: {endpoint.scheme}:// is not an engine address carina-tui "
                                    "knows; use unix://, tcp:// or ssh://.")
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout=self.timeout)
            if self.tls is None:
                return sock
            from carina_tui.gateways import tls

            try:
                return tls.ssl_context(self.tls).wrap_socket(sock, server_hostname=endpoint.host)
            except BaseException:
                sock.close()
                raise
        except CarinaError:
            raise
        except OSError as exc:
            raise self._explain_connect(exc) from None

    def _channel(self, what: str):
        """Over ssh://: a new channel of the engine's SSH connection running ``docker system dial-stdio``
        there, as a socket (``ssh._Pipe``); closing it closes the channel. The link's sentence when
        the connection is gone or refuses a channel."""
        from carina_tui.gateways import ssh

        link = ssh.link_of(self.api)  # connects first if need be: an SSHProblem saying why it cannot
        try:
            return link.channel()
        except OSError:
            raise self._ssh_problem(what, link) from None

    def _ask(self, what: str, method: str, target: str, body: bytes = b"", *, upgrade: bool = False,
             http10: bool = False) -> tuple[socket.socket, int, bytes, bytes]:
        """Send one request on a new connection; (the socket, the status, what came after the head,
        the body of an answer that is not a stream)."""
        sock = self._dial(what)
        host = "docker" if self.url.startswith("unix://") else parse_endpoint(self.url).host
        head = [f"{method} {target} HTTP/{'1.0' if http10 else '1.1'}", f"Host: {host}", "User-Agent: carina-tui"]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if upgrade:
            head += ["Connection: Upgrade", "Upgrade: tcp"]
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status, length, rest = _read_head(sock, method)
        except (OSError, ValueError) as exc:
            sock.close()
            problem = self._ssh_problem(what)  # over ssh://: the link gone, or dial-stdio failing there
            if problem is not None:
                raise problem from None
            if isinstance(exc, TimeoutError) or isinstance(exc, ValueError):
                raise self._no_answer(what) from None
            raise self._explain_connect(exc) from None
        if status in (101, 200) and method != "HEAD":
            return sock, status, rest, b""
        try:  # a short answer (an error's message): read it whole
            while length is not None and len(rest) < length:
                chunk = sock.recv(length - len(rest))
                if not chunk:
                    break
                rest += chunk
        except OSError:
            pass
        return sock, status, b"", rest


def _read_head(sock: socket.socket, method: str) -> tuple[int, int | None, bytes]:
    """The status, the Content-Length (None when not given) and the bytes after the head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > MAX_HEAD:
            raise ValueError("no complete answer")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if method == "HEAD":
        length = 0
    return status, length, rest


def stats_sample(raw: dict) -> StatsSample:
    """One reading of ``GET /containers/ID/stats`` (cgroup v1 or v2) as ``docker stats`` reckons it."""
    cpu, before = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage") or 0
    used_before = (before.get("cpu_usage") or {}).get("total_usage") or 0
    system, system_before = cpu.get("system_cpu_usage") or 0, before.get("system_cpu_usage") or 0
    cores = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1
    percent = None
    if system_before and system > system_before:
        percent = max(0.0, (used - used_before) / (system - system_before) * cores * 100.0)
    memory = raw.get("memory_stats") or {}
    usage, detail = memory.get("usage") or 0, memory.get("stats") or {}
    for inactive in ("total_inactive_file", "inactive_file"):  # the page cache the kernel can take back
        if inactive in detail and detail[inactive] < usage:
            usage -= detail[inactive]
            break
    nets = (raw.get("networks") or {}).values()
    blkio = (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ()
    return StatsSample(
        at=_moment(raw.get("read") or ""),
        cpu_percent=percent,
        mem_usage=int(usage),
        mem_limit=int(memory.get("limit") or 0),
        net_rx=sum(int(n.get("rx_bytes") or 0) for n in nets),
        net_tx=sum(int(n.get("tx_bytes") or 0) for n in nets),
        blk_read=sum(int(b.get("value") or 0) for b in blkio if str(b.get("op")).lower() == "read"),
        blk_write=sum(int(b.get("value") or 0) for b in blkio if str(b.get("op")).lower() == "write"),
    )


def _moment(text: str) -> float:
    """``2026-12-02T18:33:54.123456789Z`` (the engine's RFC 3339, nanoseconds) as seconds; now when absent."""
    try:
        whole, _, fraction = text.rstrip("Z").partition(".")
        return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")
    except ValueError:
        return time.time()
