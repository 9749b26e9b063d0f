"""Cleanup's execution: remove exactly the planned containers, each re-checked by the guard.

Shared by the console (``carina_tui.ui.cleanup``, in a thread worker) and the
headless ``carina-tui cleanup``. No Textual here. Each container goes through
``Guard.remove_if_still_stopped``, which inspects it again and skips it (with
the reason) when it is gone, running, or protected by now; the guard writes
every attempt to the audit log.

Removals run in a bounded thread pool: at most ``PER_ENGINE`` at once on one
engine (docker-py keeps 10 connections per engine; more would open and throw
away connections; measured: 16 is no faster, 32 slower), so a cluster of several
nodes is cleaned in parallel. The guard re-reads ``BATCH`` containers in one
list call just before removing them one by one: a re-check of each container
for an eighth of a call, not one (client CPU is what holds a Python cleanup
behind ``docker rm`` on a busy 2-core machine).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from carina_tui.core.cleanup import Kept
from carina_tui.core.models import ContainerInfo
from carina_tui.guard import STOPPED_BEFORE, Guard, Outcome
from carina_tui.runtime import DaemonExecutor, start_loop

PER_ENGINE = 8
BATCH = 8
MAX_WORKERS = 32

Progress = Callable[[int, int, Outcome], None]


@dataclass
class CleanupResult:
    removed: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, outcome: Outcome) -> None:
        {"removed": self.removed, "skipped": self.skipped}.get(outcome.result, self.failed).append(outcome)

    def summary(self) -> str:
        return f"{len(self.removed)} removed, {len(self.skipped)} skipped, {len(self.failed)} failed."


def execute(
    guard: Guard,
    planned: Iterable[ContainerInfo],
    *,
    volumes: bool = False,
    per_engine: int = PER_ENGINE,
    batch: int = BATCH,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    kept: Iterable[Kept] = (),
) -> CleanupResult:
    """Remove the planned containers (and their anonymous volumes if ``volumes``).

    The containers of each engine go in batches of ``batch`` to the guard, which
    re-reads a batch in one call and then removes it one by one; ``per_engine``
    batches run at once per engine. ``cancel`` stops before the next removal: those
    under way finish (and are audited), the rest are skipped untouched.
    ``kept`` (the plan's protected ones) are written to the audit log as refused.
    """
    for k in kept:
        guard.keep_protected(k.container, k.rule)
    items = list(planned)
    result = CleanupResult()
    if not items:
        return result
    lock = threading.Lock()
    done = 0

    def note(outcome: Outcome) -> None:
        nonlocal done
        with lock:
            result.add(outcome)
            done += 1
            count = done
        if progress is not None:
            progress(count, len(items), outcome)

    def one(group: list[ContainerInfo]) -> None:
        if cancel is not None and cancel.is_set():
            for c in group:
                note(Outcome(c.id, c.qualified_name, "skipped", STOPPED_BEFORE, c.node))
            return
        reported: set[str] = set()

        def heard(outcome: Outcome) -> None:
            reported.add(outcome.id)
            note(outcome)

        try:
            guard.remove_still_stopped(group, volumes=volumes, report=heard,
                                       stopped=cancel.is_set if cancel is not None else None)
        except Exception as err:  # noqa: BLE001 - one bad batch must not stop the others
            for c in group:
                if c.id not in reported:
                    note(Outcome(c.id, c.qualified_name, "failed", f"{type(err).__name__}: {err}", c.node))

    by_endpoint: dict[str, list[ContainerInfo]] = {}
    for c in items:
        by_endpoint.setdefault(c.endpoint, []).append(c)
    # Round-robin over the engines so that every node is worked on from the start.
    queues = [[group[i:i + batch] for i in range(0, len(group), batch)] for group in by_endpoint.values()]
    batches = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
    workers = max(1, min(len(batches), per_engine * len(by_endpoint), MAX_WORKERS))
    # Daemon threads: a removal that hangs never holds the process at exit.
    with DaemonExecutor(workers, name="carina-cleanup-pool", idle=0.5) as pool:
        for future in [pool.submit(one, group) for group in batches]:
            future.result()
    return result


class CleanupRun:
    """One cleanup executing on a dedicated thread (``carina-cleanup:<count>``), for the console.

    ``stop()`` lets the removals under way finish (each is audited) and skips the
    rest; ``wait()`` waits for that, bounded. ``on_done(result)`` is called on the
    run's thread at the end.
    """

    def __init__(self, guard: Guard, planned: Iterable[ContainerInfo], *, volumes: bool = False,
                 kept: Iterable[Kept] = (), on_done: Callable[[CleanupResult], None] | None = None) -> None:
        self.guard = guard
        self.planned = list(planned)
        self.volumes = volumes
        self.kept = list(kept)
        self.on_done = on_done
        self.total = len(self.planned)
        self.done = 0
        self.removed = 0
        self.result: CleanupResult | None = None
        self.error: BaseException | None = None
        self.cancel = threading.Event()
        self.finished = threading.Event()

    def start(self) -> "CleanupRun":
        start_loop(f"carina-cleanup:{self.total}", self._run)
        return self

    def _progress(self, done: int, total: int, outcome: Outcome) -> None:
        self.done = done
        if outcome.result == "removed":
            self.removed += 1

    def _run(self) -> None:
        try:
            self.result = execute(self.guard, self.planned, volumes=self.volumes, progress=self._progress,
                                  cancel=self.cancel, kept=self.kept)
        except BaseException as exc:  # noqa: BLE001 - kept for whoever shows the outcome
            self.error = exc
        finally:
            self.finished.set()
            if self.on_done is not None:
                self.on_done(self.result)

    def stop(self) -> None:
        self.cancel.set()

    def wait(self, timeout: float) -> bool:
        return self.finished.wait(timeout)

    def stopped_sentence(self) -> str:
        """What to say after quitting stopped it (after ``wait``)."""
        if self.finished.is_set():
            return f"Cleanup stopped at quit: {self.removed} of {self.total} removed; the rest were left."
        return (f"Cleanup stopped at quit: {self.removed} of {self.total} removed; removals still under way "
                "were not waited for, the rest were left.")
