"""Cleanup's execution: remove exactly the planned items, each re-checked by the guard.

Shared by the console (``carina_tui.ui.cleanup_screen``, in a thread worker) and the
headless ``carina-tui cleanup``. No Textual here. Each container goes through
``Guard.remove_if_still_stopped``, which inspects that one container just
before removing it and skips it (with the reason) when it is gone, running, or
protected by then; each image or volume (a prune plan) through ``Guard.remove_stored``,
which skips it when a container uses it by then; the guard writes every attempt to the audit log, and nothing
starts when the audit log cannot be written.

Each engine has its own pool of ``PER_ENGINE`` daemon threads (docker-py keeps 10
connections per engine, the kept-alive unix connections as many; measured: 16 is
no faster, 32 slower), so a cluster of several nodes is cleaned in parallel and
no engine gets more at once. Speed comes from the inspect and the DELETE going
over kept-alive connections (``gateways/unix_http.py``), not from checking
several containers in one call: a check shared by a batch is older, for all but
the first, than the removal it allows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from carina_tui.core.planner import Kept
from carina_tui.core.models import ContainerInfo
from carina_tui.guard import STOPPED_BEFORE, Guard, Outcome
from carina_tui.runtime import DaemonExecutor, start_loop

PER_ENGINE = 8

Progress = Callable[[int, int, Outcome], None]


@dataclass
class CleanupResult:
    removed: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing failed, and every removal was written to the audit log."""
        return not self.failed and not any(o.reason for o in self.removed)

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
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    kept: Iterable[Kept] = (),
) -> CleanupResult:
    """Remove the planned containers (and their anonymous volumes if ``volumes``).

    Raises ``AuditUnwritable`` before anything is done when the audit log cannot be
    written. ``kept`` (the plan's protected ones) are written to it as refused.
    ``cancel`` stops before the next container; the rest are skipped with that reason.
    """
    guard.check_audit()
    for k in kept:
        guard.keep_protected(k.container, k.rule, k.item)
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

    def one(c: ContainerInfo) -> None:
        if cancel is not None and cancel.is_set():
            note(Outcome(c.id, c.qualified_name, "skipped", STOPPED_BEFORE, c.node))
            return
        try:
            outcome = guard.remove_planned(c, volumes=volumes)
        except Exception as err:  # noqa: BLE001 - one bad container must not stop the others
            outcome = Outcome(c.id, c.qualified_name, "failed", f"{type(err).__name__}: {err}", c.node)
        note(outcome)

    by_endpoint: dict[str, list[ContainerInfo]] = {}
    for c in items:
        by_endpoint.setdefault(c.endpoint, []).append(c)
    # One pool per engine, so that no engine gets more than ``per_engine`` at once and every node is
    # worked on from the start. Daemon threads: a removal that hangs never holds the process at exit.
    pools = [DaemonExecutor(max(1, min(per_engine, len(group))), name="carina-cleanup-pool", idle=0.5)
             for group in by_endpoint.values()]
    try:
        futures = [pool.submit(one, c) for pool, group in zip(pools, by_endpoint.values()) for c in group]
        for future in futures:
            future.result()
    finally:
        for pool in pools:
            pool.shutdown()
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
