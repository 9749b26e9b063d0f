"""Local images made without a registry: ``docker import`` of a busybox folder.

No registry can be reached where we run, so every image the tests, the demo
and the sandbox use is a tar of ``/bin/busybox`` plus a link to it for every
applet (``sh``, ``sleep``, ``httpd``, ``nslookup``, ``wget``, ``true``, ...),
imported with ``docker import``. The tar is built in memory once (about 2 MiB).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import platform
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


_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
IMAGES: dict[str, dict[str, str]] = {
    BUSYBOX_IMAGE: {},
    CONSUL_IMAGE: {"org.opencontainers.image.title": "carina consul agent stand-in"},
}


@functools.lru_cache(maxsize=2)
def image_archive(tags: tuple[str, ...] = tuple(IMAGES)) -> bytes:
    """A ``docker save`` archive holding ``tags`` (from IMAGES), all on the one busybox layer.

    ``docker load`` of it makes every image in one call and extracts the layer once,
    and the image IDs are the same on every engine (the configs are fixed).
    """
    layer = rootfs_tar()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    created = "2023-11-14T22:13:20Z"
    buf = io.BytesIO()
    manifest = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        layer_dir = diff_id.split(":")[1]
        _add_file(tar, f"{layer_dir}/layer.tar", layer)
        for tag in tags:
            config = {
                "architecture": _ARCH.get(platform.machine(), platform.machine()),
                "os": "linux",
                "created": created,
                "config": {"Cmd": ["sh"], "Env": ["PATH=/bin:/sbin"], "Labels": IMAGES[tag] or None},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created": created, "created_by": "carina-tui: busybox and its applets"}],
            }
            raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
            name = hashlib.sha256(raw).hexdigest() + ".json"
            _add_file(tar, name, raw)
            manifest.append({"Config": name, "RepoTags": [tag], "Layers": [f"{layer_dir}/layer.tar"]})
        _add_file(tar, "manifest.json", json.dumps(manifest).encode())
    return buf.getvalue()


def load_images(url: str, tags: tuple[str, ...] = tuple(IMAGES)) -> None:
    """``docker load`` the local images on a fresh engine (one call, no check first)."""
    docker(url, "load", "--quiet", input=image_archive(tags), timeout=120)


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
    """The two images everything here uses, busybox and the Consul agent stand-in, unless present."""
    present = set(docker(url, "images", "--format", "{{.Repository}}:{{.Tag}}").split())
    missing = tuple(tag for tag in IMAGES if tag not in present)
    if missing:
        load_images(url, missing)
