"""The audit log: one JSON line per mutation attempt, refused or done.

``audit.log`` lives in the platformdirs user log dir of ``carina-tui`` and is
created 0600: it names containers and users, which is nobody else's business.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

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


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())


class AuditLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else log_dir() / "audit.log"
        self._lock = threading.Lock()
        self._user = _local_user()

    def write(self, entry: AuditEntry) -> None:
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
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def read(self) -> list[dict]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
