"""Local images made without a registry: ``docker import`` of a busybox folder.

No registry can be reached where we run, so every image the tests, the demo
and the sandbox use is a tar of ``/bin/busybox`` plus a link to it for every
applet (``sh``, ``sleep``, ``httpd``, ``nslookup``, ``wget``, ``true``, ...),
imported with ``docker import``. The tar is built in memory once (about 2 MiB).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from carina_tui.sandbox.engine import EngineError, docker

BUSYBOX_IMAGE = "busybox:latest"
CONSUL_IMAGE = "carina/consul:latest"
# Always linked, even if `busybox --list` were to fail.
APPLETS = ("sh", "sleep", "httpd", "nslookup", "wget", "true", "false", "timeout", "cat", "echo", "ls",
           "hostname", "nc", "ping", "env", "mkdir", "ip", "ps", "kill", "top")
DIRS = ("bin", "sbin", "etc", "tmp", "www", "proc", "sys", "dev", "var", "data", "root")
_TIMESTAMP = 1_700_000_000  # fixed, so the tar (and the image's layer) is the same every time


def busybox_path() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise EngineError("busybox is not installed: run `apt-get install busybox-static` and try again.")


def _applets(binary: Path) -> tuple[str, ...]:
    try:
        listed = subprocess.run([str(binary), "--list"], capture_output=True, timeout=10).stdout.decode().split()
    except (OSError, subprocess.SubprocessError):
        listed = []
    return tuple(sorted(set(APPLETS) | {a for a in listed if a and "/" not in a and a != "busybox"}))


def _add_file(tar: tarfile.TarFile, path: str, content: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.size, info.mode, info.mtime = len(content), mode, _TIMESTAMP
    tar.addfile(info, io.BytesIO(content))


@functools.lru_cache(maxsize=4)
def rootfs_tar(extra_files: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A root filesystem as a tar: /bin/busybox, a link per applet, /etc basics, a few folders."""
    binary = busybox_path()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in DIRS:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755, _TIMESTAMP
            tar.addfile(info)
        _add_file(tar, "bin/busybox", binary.read_bytes(), 0o755)
        for applet in _applets(binary):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, _TIMESTAMP
            tar.addfile(link)
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        _add_file(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        _add_file(tar, "www/index.html", b"<html><body><h1>carina-tui sandbox</h1></body></html>\n")
        for path, content in extra_files:
            _add_file(tar, path, content, 0o755)
    return buf.getvalue()


def image_present(url: str, tag: str) -> bool:
    return bool(docker(url, "images", "--quiet", tag, check=False).strip())


def ensure_image(url: str, tag: str = BUSYBOX_IMAGE, *, cmd: str = '["sh"]',
                 labels: dict[str, str] | None = None) -> bool:
    """Import ``tag`` on the engine at ``url`` unless it is there. True when it was imported."""
    if image_present(url, tag):
        return False
    changes = ["--change", f"CMD {cmd}"]
    for key, value in sorted((labels or {}).items()):
        changes += ["--change", f'LABEL {key}="{value}"']
    docker(url, "import", *changes, "-", tag, input=rootfs_tar(), timeout=120)
    return True


def ensure_local_images(url: str) -> None:
    """The two images everything here uses: busybox, and the Consul agent stand-in."""
    ensure_image(url, BUSYBOX_IMAGE)
    ensure_image(url, CONSUL_IMAGE, labels={"org.opencontainers.image.title": "carina consul agent stand-in"})
