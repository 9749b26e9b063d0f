"""A throwaway certificate authority for the sandbox, made with the openssl command.

One CA, one server certificate per node (its address and name as subject
alternative names), one client certificate for carina-tui and the docker CLI.
EC P-256 keys: each certificate takes a few milliseconds. Valid for 30 days:
the sandbox is for trying things, not for keeping.
"""

from __future__ import annotations

import os
from pathlib import Path

from carina_tui.sandbox.engine import EngineError, run

_CONFIG = "[req]\ndistinguished_name = dn\n[dn]\n"
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
DAYS = "30"


def _req(config: Path, key: Path, cert: Path, subject: str, *extra: str) -> None:
    run(["openssl", "req", "-config", str(config), "-x509", *_KEY, "-keyout", str(key), "-out", str(cert),
         "-days", DAYS, "-subj", subject, *extra])
    os.chmod(key, 0o600)


def make_ca(folder: Path) -> tuple[Path, Path]:
    """``ca.pem`` and ``ca-key.pem`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "openssl.cnf"
    config.write_text(_CONFIG)
    ca, key = folder / "ca.pem", folder / "ca-key.pem"
    _req(config, key, ca, "/CN=carina-tui sandbox CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "subjectKeyIdentifier=hash")
    return ca, key


def make_cert(folder: Path, prefix: str, common_name: str, *, server_ips: tuple[str, ...] = (),
              server_names: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """``<prefix>cert.pem`` and ``<prefix>key.pem`` signed by the CA in ``folder``.

    With ``server_ips``/``server_names`` it is a server certificate for them,
    otherwise a client certificate.
    """
    config, ca, ca_key = folder / "openssl.cnf", folder / "ca.pem", folder / "ca-key.pem"
    cert, key = folder / f"{prefix}cert.pem", folder / f"{prefix}key.pem"
    extra = ["-CA", str(ca), "-CAkey", str(ca_key),
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
             "-addext", "subjectKeyIdentifier=hash",
             "-addext", "authorityKeyIdentifier=keyid:always"]
    if server_ips or server_names:
        names = [f"IP:{ip}" for ip in server_ips] + [f"DNS:{n}" for n in server_names]
        extra += ["-addext", f"subjectAltName={','.join(names)}", "-addext", "extendedKeyUsage=serverAuth"]
    else:
        extra += ["-addext", "extendedKeyUsage=clientAuth"]
    _req(config, key, cert, f"/CN={common_name}", *extra)
    return cert, key


def check_openssl() -> None:
    try:
        run(["openssl", "version"])
    except EngineError as err:
        raise EngineError("openssl is not installed: run `apt-get install openssl` and try again.") from err
