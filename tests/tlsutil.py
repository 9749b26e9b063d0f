"""Test certificates made with the openssl command, and Carina bundles laid out from them.

ECDSA P-256 keys (fast to make). Leaf certificates are signed with ``openssl ca``
so that a test can choose both dates: ``openssl x509 -req -days`` cannot make
an expired certificate.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

_CA_CONFIG = """\
[ca]
default_ca = test_ca

[test_ca]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no

[anything]
commonName = supplied
"""


def openssl(*args: str, cwd: Path | None = None) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:3])} failed: {done.stderr.decode(errors='replace')}")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ")


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


class CA:
    """A certificate authority in a folder: ``ca.pem``, ``ca-key.pem`` and what ``openssl ca`` needs."""

    def __init__(self, folder: Path, name: str = "Test CA", *, days: int = 30,
                 start: datetime | None = None, end: datetime | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "issued").mkdir(exist_ok=True)
        (self.folder / "index.txt").write_text("")
        (self.folder / "serial").write_text("1000\n")
        (self.folder / "openssl.cnf").write_text(_CA_CONFIG.format(dir=self.folder))
        self.cert = self.folder / "ca.pem"
        self.key = self.folder / "ca-key.pem"
        self.name = name
        _new_key(self.key)
        if start is None and end is None:
            openssl("req", "-x509", "-new", "-key", str(self.key), "-out", str(self.cert), "-days", str(days),
                    "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            return
        # A CA with chosen dates: self-sign its request with `openssl ca -selfsign`.
        csr = self.folder / "ca.csr"
        openssl("req", "-new", "-key", str(self.key), "-out", str(csr), "-subj", f"/CN={name}")
        ext = self.folder / "ca.ext"
        ext.write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                       "subjectKeyIdentifier=hash\n")
        now = datetime.now(timezone.utc)
        openssl("ca", "-batch", "-selfsign", "-config", str(self.folder / "openssl.cnf"), "-keyfile", str(self.key),
                "-in", str(csr), "-out", str(self.cert), "-notext", "-extfile", str(ext),
                "-startdate", _stamp(start or now - timedelta(days=1)), "-enddate", _stamp(end or now + timedelta(days=30)))

    def issue(self, folder: Path, name: str, *, server_names: tuple[str, ...] = (), client: bool = False,
              start: datetime | None = None, end: datetime | None = None,
              cert_name: str = "cert.pem", key_name: str = "key.pem") -> Pair:
        """A certificate signed by this CA: a server one (``server_names`` like ``IP:127.0.0.1``,
        ``DNS:localhost``) or a client one. Dates default to yesterday .. in 30 days."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        key, cert = folder / key_name, folder / cert_name
        csr = folder / f"{name}.csr"
        _new_key(key)
        openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={name}")
        ext = folder / f"{name}.ext"
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        lines.append("extendedKeyUsage=clientAuth" if client else "extendedKeyUsage=serverAuth")
        if server_names:
            lines.append("subjectAltName=" + ",".join(server_names))
        ext.write_text("\n".join(lines) + "\n")
        now = datetime.now(timezone.utc)
        openssl("ca", "-batch", "-config", str(self.folder / "openssl.cnf"), "-cert", str(self.cert),
                "-keyfile", str(self.key), "-in", str(csr), "-out", str(cert), "-notext", "-extfile", str(ext),
                "-startdate", _stamp(start or now - timedelta(days=1)),
                "-enddate", _stamp(end or now + timedelta(days=30)))
        csr.unlink()
        ext.unlink()
        return Pair(cert, key)


def _new_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


def write_bundle(folder: Path, host: str, ca: Path, cert: Path, key: Path, *, new_layout: bool = False,
                 cluster_name: str | None = None, cert_path_line: str | None = None) -> Path:
    """A Carina credentials folder: docker.env plus the three files, in the old or the new layout."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = ("ca.pem", "user.pem", "user-key.pem") if new_layout else ("ca.pem", "cert.pem", "key.pem")
    for source, name in zip((ca, cert, key), names):
        shutil.copyfile(source, folder / name)
    cert_path = cert_path_line if cert_path_line is not None else 'export DOCKER_CERT_PATH="$(cd "$(dirname "$0")" && pwd)"'
    (folder / "docker.env").write_text(
        "# Source this script to set up your shell for this cluster\n"
        f"export DOCKER_HOST={host}\n"
        "export DOCKER_TLS_VERIFY=1\n"
        f"{cert_path}\n"
        f"export CARINA_CLUSTER_NAME={cluster_name or folder.name}\n"
    )
    return folder


class TLSServer:
    """A TLS listener on loopback that only completes handshakes: for server certificates the
    engine cannot present (an expired one). It answers nothing else."""

    def __init__(self, cert: Path, key: Path, host: str = "127.0.0.1") -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://{host}:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tls-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)
