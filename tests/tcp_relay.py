"""A TCP relay on a host loopback port to an engine that lives in another network namespace.

The engine listens on ``127.0.0.1:2376`` inside its own namespace, where the host
cannot reach it. The relay accepts on ``127.0.0.1:<free port>`` (or another
loopback address) in the host namespace; for each connection a thread enters
the engine's namespace with ``setns(CLONE_NEWNET)`` (per thread on Linux, and
allowed in a multi-threaded process), connects there, and copies bytes both
ways. The target may also be a Unix socket (then no namespace is needed):
that gives a plain-HTTP TCP port to an engine, for "TLS spoken to a plain port".
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(path: str | Path) -> None:
    """Move the calling thread into the network namespace at ``path`` (``/run/netns/NAME``)."""
    fd = os.open(str(path), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


class TcpRelay:
    def __init__(self, target: tuple[str, int] | str | Path, *, netns: str | Path | None = None,
                 listen_host: str = "127.0.0.1") -> None:
        self.target = target
        self.netns = netns
        self.listener = socket.create_server((listen_host, 0))
        self.listener.settimeout(0.2)
        self.host = listen_host
        self.port = self.listener.getsockname()[1]
        self.url = f"tcp://{listen_host}:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name=f"relay-{self.port}", daemon=True)
        self._accepter.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._track(client)
            thread = threading.Thread(target=self._connect, args=(client,), daemon=True)
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _connect(self, client: socket.socket) -> None:
        try:
            if isinstance(self.target, tuple):
                if self.netns is not None:
                    enter_netns(self.netns)  # this thread only
                upstream = socket.create_connection(self.target, timeout=10)
            else:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(str(self.target))
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        self._track(upstream)
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        self._pump(client, upstream)
        back.join()
        for sock in (client, upstream):
            sock.close()
            with self._lock:
                self._sockets.discard(sock)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._accepter.join(timeout=5)
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
