"""Runs inside an engine's fresh mount and UTS namespaces, just before dockerd.

Started by path (``python3 _nsinit.py HOSTNAME -- dockerd ...``), never imported,
so it needs nothing but the standard library. It:

* sets the hostname (the UTS namespace is private, so a swarm node gets its own name);
* drops the copies of mounts that ``unshare --mount`` brought along and that belong
  to other engines: their overlay layers, their container namespaces and shm mounts.
  A copy in our namespace would keep another engine's layer busy after it unmounts
  it (the host's root is not always a shared mount, so unmounts do not propagate);
* then replaces itself with dockerd, so the pid the caller holds is dockerd's.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys

MNT_DETACH = 2
ENGINE_DIRS = ("/var/lib/docker/", "/run/docker/", "/var/run/docker/", "/run/containerd/", "/var/lib/containerd/")


def foreign_mounts(keep: str) -> list[str]:
    """Mount points to drop: other engines' layers, namespaces and shm mounts."""
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            point = left.split()[4].replace("\\040", " ")
            fstype = right.split()[0] if right else ""
            if keep and (point == keep or point.startswith(keep.rstrip("/") + "/")):
                continue
            if point == "/run/netns":
                continue  # the shared folder itself stays; its entries come and go with the host's
            if (
                fstype in ("overlay", "aufs", "nsfs")
                or point.startswith(ENGINE_DIRS)
                or point.endswith("/mounts/shm")
            ):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def main(argv: list[str]) -> int:
    hostname, keep = argv[1], argv[2]
    command = argv[argv.index("--") + 1 :]
    if hostname:
        socket.sethostname(hostname)
    libc = ctypes.CDLL(None, use_errno=True)
    for point in foreign_mounts(keep):
        libc.umount2(point.encode(), MNT_DETACH)
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
