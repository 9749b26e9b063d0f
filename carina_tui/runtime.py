"""Threads that never hold the process: a pool for short requests, and named daemon loops.

Two kinds of work run off the main thread (see ARCHITECTURE.md, "Threads"):

* short requests (a list, an inspect, a removal): on a ``DaemonExecutor``, a pool
  of a fixed size that does not depend on the core count or on the number of
  engines. The console installs one as its event loop's default executor, so
  Textual's thread workers run on it;
* long-lived loops (an engine's event stream, a Consul blocking watch, a log
  follow): each on a dedicated daemon thread (``start_loop``) owned by the object
  that can stop it by closing what it reads.

Neither kind is ever joined at exit: asyncio.run() ends with
``loop.shutdown_default_executor()`` and Python's exit joins
``ThreadPoolExecutor`` threads; with a blocked read in one of them (a Consul
blocking query holds its connection for 30 s) quitting waited for it.
"""

from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

POOL_SIZE = 16  # short requests at once, whatever the cores or the engines
IDLE_SECONDS = 10.0  # an idle pool thread ends after this long

_counter = itertools.count(1)


class DaemonExecutor(ThreadPoolExecutor):
    """A pool of at most ``max_workers`` daemon threads, started as work comes.

    It subclasses ThreadPoolExecutor only because ``loop.set_default_executor``
    accepts nothing else; none of its machinery is used (its threads are joined
    at interpreter exit). ``shutdown()`` never waits: whoever needs a result
    waits for its future. Idle threads end after ``idle`` seconds.
    """

    def __init__(self, max_workers: int = POOL_SIZE, name: str = "carina-pool", idle: float = IDLE_SECONDS) -> None:
        # Deliberately not ThreadPoolExecutor.__init__: see the class docstring.
        self._max_workers = max(1, int(max_workers))
        self._name = name
        self._idle_timeout = idle
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((future, fn, args, kwargs))
            if self._idle > 0:
                self._idle -= 1  # that thread takes it
            elif len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{next(_counter)}", daemon=True)
                self._threads.add(thread)
                thread.start()
        return future

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                item = self._queue.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._idle -= 1
                        self._threads.discard(me)
                        return
                continue
            if item is None:
                with self._lock:
                    self._threads.discard(me)
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the future
                    future.set_exception(exc)
            del item, future, fn, args, kwargs
            with self._lock:
                self._idle += 1

    @property
    def busy(self) -> int:
        """Threads running a task now."""
        with self._lock:
            return len(self._threads) - self._idle

    @property
    def threads(self) -> int:
        with self._lock:
            return len(self._threads)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work and let idle threads end; never waits for running ones."""
        with self._lock:
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            for _ in range(len(self._threads)):
                self._queue.put(None)


def run_each(fn: Callable, items: list, *, workers: int, name: str) -> list:
    """``fn`` on every item at once (at most ``workers`` at a time), on daemon threads; the results
    (or exceptions, raised here) in order. Returns when all are done."""
    if len(items) == 1:
        return [fn(items[0])]
    pool = DaemonExecutor(min(workers, max(1, len(items))), name=name, idle=0.5)
    try:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]
    finally:
        pool.shutdown()


def start_loop(name: str, target: Callable[[], None]) -> threading.Thread:
    """A long-lived loop on a dedicated daemon thread called ``name`` (``carina-<what>:<where>``,
    e.g. ``carina-events:tcp://10.0.0.2:2376``).
    The owner stops it by closing what it reads; the thread never holds the process."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def loop_threads(prefix: str = "carina-") -> list[threading.Thread]:
    """The live dedicated threads whose name starts with ``prefix`` (pool threads excluded)."""
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and ":" in t.name]
