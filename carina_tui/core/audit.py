"""The audit log: one JSON line per mutation attempt, refused or done.

``audit.log`` lives in the platformdirs user log dir of ``carina-tui`` and is
created 0600 (an existing one with a looser mode is set back to 0600): it names
containers and users, which is nobody else's business. The guard opens it before
it acts, so a log that cannot be written stops the action before anything changes.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from carina_tui.core.errors import AuditUnwritable
from carina_tui.core.paths import log_dir


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str
    target_id: str
    target_name: str
    outcome: str  # done | refused | skipped | failed
    cluster: str = ""
    endpoint: str = ""
    rule: str = ""
    error: str = ""
    command: str = ""  # what a shell ran (container.exec)


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())


class AuditLog:
    """The log file. ``open()`` before acting proves it can be written; the line goes through
    the same open file once the outcome is known."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else log_dir() / "audit.log"
        self._lock = threading.Lock()
        self._user = _local_user()

    def open(self) -> AuditHandle:
        """Open the log for appending: created 0600, an existing one made 0600 again.

        Raises ``AuditUnwritable`` (a sentence naming the path) when it cannot be opened,
        or is readable by others and cannot be made private: then nothing may be done.
        """
        try:
            try:
                fd = self._open_fd()
            except FileNotFoundError:  # no folder yet (the first change ever): made, then opened
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = self._open_fd()
        except OSError as exc:
            raise self.unwritable(_why(exc, self.path)) from None
        mode = 0
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
                os.fchmod(fd, 0o600)
        except OSError as exc:
            os.close(fd)
            raise AuditUnwritable(
                f"The audit log {self.path} can be read by others (mode {stat.S_IMODE(mode):04o}) and could not "
                f"be made private ({_why(exc, self.path)}), so nothing was done; run chmod 600 {self.path}."
            ) from None
        return AuditHandle(self, fd)

    def _open_fd(self) -> int:
        # The folder is made only when the open says it is missing: a cleanup opens the log once
        # per removal, and making sure of the folder each time (mkdir, then a stat after
        # FileExistsError) takes 2.4 us on a quiet machine but showed as the largest item of the
        # process's own work in a profile of 1,000 removals under load (py-spy, 87 of 547 samples).
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def unwritable(self, why: str) -> AuditUnwritable:
        """The sentence for a log that cannot be written, before anything was done."""
        return AuditUnwritable(
            f"The audit log {self.path} cannot be written ({why}), so nothing was done: every change is "
            "recorded there. Make it a file you can write in a folder you can write, or point XDG_STATE_HOME "
            "at one.")

    def check(self) -> None:
        """Raise ``AuditUnwritable`` unless the log can be written now."""
        self.open().close()

    def write(self, entry: AuditEntry) -> None:
        """One line, for an attempt that changed nothing (refused, skipped, failed)."""
        with self.open() as held:
            try:
                held.write(entry)
            except AuditUnwritable as err:
                raise self.unwritable(err.why) from None

    def line(self, entry: AuditEntry) -> bytes:
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "cluster": entry.cluster,
            "endpoint": entry.endpoint,
            "user": self._user,
            "action": entry.action,
            "target_id": entry.target_id,
            "target_name": entry.target_name,
            "outcome": entry.outcome,
        }
        if entry.rule:
            record["rule"] = entry.rule
        if entry.error:
            record["error"] = entry.error
        if entry.command:
            record["command"] = entry.command
        return (json.dumps(record, sort_keys=True) + "\n").encode()

    def read(self) -> list[dict]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]


class AuditHandle:
    """The audit log held open while one action runs."""

    def __init__(self, log: AuditLog, fd: int) -> None:
        self._log = log
        self._fd: int | None = fd

    def write(self, entry: AuditEntry) -> None:
        """Append one line; ``AuditUnwritable`` (saying the line is missing) when the write fails."""
        data = self._log.line(entry)
        try:
            with self._log._lock:
                if self._fd is None:
                    raise OSError(errno.EBADF, "the log was already closed")
                written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, "only part of the line was written")
        except OSError as exc:
            why = _why(exc, self._log.path)
            err = AuditUnwritable(f"its audit line could not be written to {self._log.path} ({why})")
            err.why = why
            raise err from None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> AuditHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: OSError, path: Path) -> str:
    """``Permission denied``, ``/x/log is not a folder``: the system's reason, and the file it was
    about when that is not the log itself."""
    reason = exc.strerror or str(exc)
    where = exc.filename
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and where:
        probe = Path(where)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            return f"{probe} is not a folder"
    if where and str(where) != str(path):
        return f"{reason}: {where}"
    return reason
