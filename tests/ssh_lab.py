"""A real sshd on loopback in front of the test engine, for ssh:// tests.

``SSHLab`` starts Debian's ``/usr/sbin/sshd`` on 127.0.0.1 at a free high port, with
a host key, an ``authorized_keys`` and a ``PidFile`` of its own (nothing of the
machine's sshd is read or changed), and ``SetEnv DOCKER_HOST=<the test engine>``
so that ``docker system dial-stdio`` in its sessions reaches the private engine.
``client_home(home)`` writes what a user has in ``~/.ssh``: the key, a
``known_hosts`` line for the lab's host key and a ``config`` with the alias
``ALIAS`` (HostName, Port, User, IdentityFile).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
ALIAS = "carina-engine"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


class SSHLab:
    def __init__(self, base: Path, docker_host: str) -> None:
        self.base = base
        self.docker_host = docker_host
        self.port = free_port()
        self.host_key = keygen(base / "host_key", "lab host")
        self.user_key = keygen(base / "user_key", "lab user")
        self.other_key = keygen(base / "other_key", "a key the lab does not know")
        self.other_host_key = keygen(base / "other_host_key", "another host")
        self.authorized = base / "authorized_keys"
        shutil.copy(self.user_key.with_suffix(".pub"), self.authorized)
        self.user = "root" if os.geteuid() == 0 else os.environ.get("USER", "")
        self.proc: subprocess.Popen | None = None
        self.log = base / "sshd.log"

    def write_config(self, host_key: Path | None = None) -> Path:
        config = self.base / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key or self.host_key}\n"
            f"PidFile {self.base / 'sshd.pid'}\nAuthorizedKeysFile {self.authorized}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nLogLevel VERBOSE\n"
            f"SetEnv DOCKER_HOST={self.docker_host}\n"
        )
        return config

    def start(self, host_key: Path | None = None) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        config = self.write_config(host_key)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited at once: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not answer on port {self.port}: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, host_key: Path | None = None) -> None:
        self.stop()
        self.start(host_key)

    def known_hosts_line(self, host_key: Path | None = None) -> str:
        kind, blob = (host_key or self.host_key).with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def client_home(self, home: Path, *, key: Path | None = None, known: bool = True, extra: str = "") -> Path:
        """``home/.ssh`` as a user of the lab has it; returns that folder."""
        ssh = home / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        shutil.copy(key or self.user_key, ssh / "id_lab")
        os.chmod(ssh / "id_lab", 0o600)
        (ssh / "known_hosts").write_text(self.known_hosts_line() if known else "")
        (ssh / "config").write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile ~/.ssh/id_lab\n{extra}"
        )
        return ssh

    def established(self, pid: int) -> int:
        """How many TCP connections process ``pid`` has open to the lab's sshd."""
        out = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{self.port} )"],
                             capture_output=True, text=True, check=True).stdout
        return sum(f"pid={pid}," in line for line in out.splitlines())


@pytest.fixture(scope="module")
def ssh_lab(docker_host, tmp_path_factory):
    """The module's sshd in front of the test engine."""
    box = SSHLab(tmp_path_factory.mktemp("sshlab"), docker_host)
    box.start()
    yield box
    box.stop()


@pytest.fixture
def ssh_home(ssh_lab, isolated_environment, monkeypatch):
    """The test's ~/.ssh as a user of the lab has it; no agent unless the test starts one."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return ssh_lab.client_home(isolated_environment)


def cut_sessions(lab: SSHLab) -> None:
    """End the lab's per-connection sshd processes (its children, by pid): every client's SSH
    connection drops as when the link to a host goes, while the listener stays."""
    assert lab.proc is not None
    children = Path(f"/proc/{lab.proc.pid}/task/{lab.proc.pid}/children").read_text().split()
    for pid in children:
        try:
            os.kill(int(pid), 15)
        except ProcessLookupError:
            pass
