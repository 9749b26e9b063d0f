"""TLS to Docker engines as Carina issued it: check the files, pin the cluster's CA, explain failures.

What the docker gateway calls, in this order::

    tls.check_endpoint(spec)                   # refuse plain tcp:// to a remote engine
    tls.preflight(spec.tls)                    # files readable, key matches cert, dates valid
    config = tls.docker_tls_config(spec.tls, url)
    api = docker.APIClient(base_url=url, tls=config, version="auto")  # the CA is pinned already
    tls.pin_ca(api, spec.tls)                  # idempotent; for clients built another way
    ...
    except Exception as exc:
        problem = tls.explain(exc, url, spec.tls)   # a TLSProblem sentence, or None

Why the CA must be pinned: requests merges ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE`` over ``Session.verify`` on every request
(``Session.merge_environment_settings``: the per-request ``verify`` is None,
so it becomes the variable's bundle, and a per-request value beats the
session's). docker-py sets only ``Session.verify`` to the cluster's ``ca.pem``,
so with the variable set the engine's certificate is checked against the
system CAs and fails with "unable to get local issuer certificate"; with
``verify=False`` the variable even turns verification back on.

The choice: we keep ``trust_env`` on and replace ``merge_environment_settings``
on that one client with a wrapper that calls requests' own and then puts the
cluster's ``verify`` back. Turning ``trust_env`` off would also drop
``HTTPS_PROXY`` / ``NO_PROXY`` and ``.netrc``; the docker CLI honours the proxy
variables for ``tcp://`` engines, so we keep them. Only a cluster that names
its CA (or turns verification off) is pinned; one verified against the system
CAs keeps the variables, which then are the user's choice of system CAs.
``docker_tls_config`` returns a ``TLSConfig`` that pins while docker-py's
``APIClient.__init__`` applies it, i.e. before its first request (the API
version probe), which a ``pin_ca`` after the constructor would be too late for.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.endpoints import BadEndpoint, check_endpoint, parse_endpoint  # noqa: F401 (check_endpoint: what callers use here)
from carina_tui.core.errors import TLSProblem
from carina_tui.gateways.lazy import IMPORT_LOCK

if TYPE_CHECKING:
    import ssl

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_ROLE = {"ca": "CA certificate", "cert": "client certificate", "key": "client key"}


# --------------------------------------------------------------------------- certificate files


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(label, body) of every PEM block; body is the base64 text with headers."""
    return [(m.group(1).decode(), m.group(2)) for m in _PEM_BLOCK.finditer(data)]


def _der(body: bytes) -> bytes:
    lines = [ln for ln in body.strip().splitlines() if b":" not in ln]  # drop Proc-Type style headers
    return base64.b64decode(b"".join(ln.strip() for ln in lines), validate=False)


def _der_item(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER item at ``pos``."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > len(buf):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _der_time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSS
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


def certificate_validity(der: bytes) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of an X.509 certificate in DER, read from its TBSCertificate."""
    _, cert_start, _ = _der_item(der, 0)  # Certificate ::= SEQUENCE
    _, pos, _ = _der_item(der, cert_start)  # tbsCertificate ::= SEQUENCE
    if der[pos] == 0xA0:  # [0] EXPLICIT version
        pos = _der_item(der, pos)[2]
    for _field in ("serialNumber", "signature", "issuer"):
        pos = _der_item(der, pos)[2]
    tag, start, _end = _der_item(der, pos)  # validity ::= SEQUENCE { notBefore, notAfter }
    if tag != 0x30:
        raise ValueError("no validity")
    t1, s1, e1 = _der_item(der, start)
    t2, s2, e2 = _der_item(der, e1)
    return _der_time(t1, der[s1:e1]), _der_time(t2, der[s2:e2])


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _read(role: str, path: str, fix: str) -> bytes:
    what = _ROLE[role]
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TLSProblem(f"The {what} {path} does not exist: {fix}.") from None
    except IsADirectoryError:
        raise TLSProblem(f"The {what} {path} is a folder, not a file: {fix}.") from None
    except PermissionError:
        raise TLSProblem(
            f"The {what} {path} cannot be read (permission denied): give your user read access to it."
        ) from None
    except OSError as exc:
        raise TLSProblem(f"The {what} {path} cannot be read ({exc.strerror or exc}): {fix}.") from None


def _check_dates(role: str, path: str, ders: list[bytes], now: float) -> None:
    """Raise when no certificate of the file is valid now (for a CA bundle, one valid one is enough)."""
    what = _ROLE[role]
    moment = datetime.fromtimestamp(now, timezone.utc)
    first_problem = ""
    for der in ders:
        try:
            not_before, not_after = certificate_validity(der)
        except (ValueError, IndexError):
            return  # not for us to judge: OpenSSL will say more when it loads the file
        if not_after < moment:
            first_problem = first_problem or (
                f"The {what} {path} expired on {_when(not_after)}: "
                + ("get the cluster's current CA" if role == "ca" else "download new credentials for this cluster")
                + " (for Carina: carina credentials CLUSTER)."
            )
        elif not_before > moment:
            first_problem = first_problem or (
                f"The {what} {path} is not valid until {_when(not_before)}: check this machine's clock, "
                "or wait until then."
            )
        else:
            return
    if first_problem:
        raise TLSProblem(first_problem)


def preflight(tls: TLSFiles | None, *, now: float | None = None) -> None:
    """Check the TLS files before connecting; raise TLSProblem with the file and what is wrong.

    Each named file must be readable and hold what it should; the client key
    must belong to the client certificate; the client certificate and the CA
    must be valid now (not expired, not before their start date).
    """
    if tls is None:
        return
    now = time.time() if now is None else now
    fix = "check the cluster's TLS paths, or download its credentials again"
    if bool(tls.cert) != bool(tls.key):
        have, lack = ("client certificate", "client key") if tls.cert else ("client key", "client certificate")
        raise TLSProblem(f"A {have} is given without its {lack}: give both files, or neither.")
    ca_ders: list[bytes] = []
    if tls.ca and tls.verify:  # an unverified connection does not use the CA
        data = _read("ca", tls.ca, fix)
        ca_ders = [_der(body) for label, body in _pem_blocks(data) if label in ("CERTIFICATE", "TRUSTED CERTIFICATE")]
        if not ca_ders:
            raise TLSProblem(f"The CA certificate {tls.ca} holds no PEM certificate: {fix}.")
    if tls.cert:
        cert_data = _read("cert", tls.cert, fix)
        key_data = _read("key", tls.key, fix)
        cert_ders = [_der(body) for label, body in _pem_blocks(cert_data) if label == "CERTIFICATE"]
        if not cert_ders:
            raise TLSProblem(f"The client certificate {tls.cert} holds no PEM certificate: {fix}.")
        key_blocks = [(label, body) for label, body in _pem_blocks(key_data) if label.endswith("PRIVATE KEY")]
        if not key_blocks:
            raise TLSProblem(f"The client key {tls.key} holds no PEM private key: {fix}.")
        label, body = key_blocks[0]
        if label == "ENCRYPTED PRIVATE KEY" or re.search(rb"Proc-Type:\s*4,\s*ENCRYPTED", body):
            raise TLSProblem(
                f"The client key {tls.key} is protected by a passphrase, which carina-tui cannot ask for: "
                f"write an unprotected copy (openssl pkey -in {tls.key} -out key.pem) and use that."
            )
        _check_pair(tls)
        _check_dates("cert", tls.cert, cert_ders[:1], now)
    if ca_ders:
        _check_ca_loads(tls.ca)
        _check_dates("ca", tls.ca, ca_ders, now)


def _no_passphrase() -> bytes:
    return b""


def _check_pair(tls: TLSFiles) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(tls.cert, tls.key, password=_no_passphrase)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or getattr(exc, "reason", "") == "KEY_VALUES_MISMATCH":
            raise TLSProblem(
                f"The client key {tls.key} does not belong to the client certificate {tls.cert}: "
                "the two files come from different credentials; download the cluster's credentials again."
            ) from None
        raise TLSProblem(
            f"The client certificate {tls.cert} and key {tls.key} cannot be used together "
            f"({getattr(exc, 'reason', None) or exc}): download the cluster's credentials again."
        ) from None
    except OSError as exc:
        raise TLSProblem(
            f"The client certificate {tls.cert} or key {tls.key} cannot be read ({exc.strerror or exc})."
        ) from None


def _check_ca_loads(path: str) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        raise TLSProblem(
            f"The CA certificate {path} is not a usable certificate ({getattr(exc, 'reason', None) or exc}): "
            "get the cluster's ca.pem again."
        ) from None


# --------------------------------------------------------------------------- docker-py


def _pinned_verify(tls: TLSFiles | None) -> str | bool | None:
    """What ``verify`` must be for this cluster whatever the environment says; None: leave it."""
    if tls is None:
        return None
    if not tls.verify:
        return False
    return tls.ca or None


_pinned_class = None


def _pinned_tls_config():
    """docker-py's TLSConfig that also pins the cluster's CA on the client it configures (made on
    first use: docker-py loads after the console's first frame, see ``lazy``)."""
    global _pinned_class
    if _pinned_class is None:
        with IMPORT_LOCK:
            import docker.tls

        class PinnedTLSConfig(docker.tls.TLSConfig):
            def __init__(self, tls: TLSFiles, **kwargs) -> None:
                super().__init__(**kwargs)
                self.files = tls

            def configure_client(self, client) -> None:
                super().configure_client(client)
                pin_ca(client, self.files)

        _pinned_class = PinnedTLSConfig
    return _pinned_class


def docker_tls_config(tls: TLSFiles, url: str):
    """The docker-py TLSConfig for ``tls``; applying it to an APIClient also pins the CA."""
    with IMPORT_LOCK:
        import docker.errors
    pinned = _pinned_tls_config()
    client_cert = (tls.cert, tls.key) if tls.cert else None
    try:
        if tls.verify:
            return pinned(tls, client_cert=client_cert, ca_cert=tls.ca or None, verify=True)
        return pinned(tls, client_cert=client_cert, verify=False)
    except docker.errors.TLSParameterError as exc:
        preflight(tls)  # names the file that is wrong, when it is a file
        raise TLSProblem(f"The TLS settings for {url} cannot be used: {exc}") from None


def pin_ca(api_client, tls: TLSFiles | None) -> None:
    """Make ``tls``'s CA (or verify=False) win over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE for this client.

    Proxies from the environment still apply. Idempotent. See the module docstring.
    """
    pinned = _pinned_verify(tls)
    if pinned is None:
        return
    api_client.verify = pinned
    if getattr(api_client, "_carina_pinned_verify", None) is not None:
        api_client._carina_pinned_verify = pinned
        return
    api_client._carina_pinned_verify = pinned
    merge = type(api_client).merge_environment_settings

    def merge_environment_settings(url, proxies, stream, verify, cert):
        settings = merge(api_client, url, proxies, stream, verify, cert)
        if verify is None or verify is True:
            settings["verify"] = api_client._carina_pinned_verify
        return settings

    api_client.merge_environment_settings = merge_environment_settings


def ssl_context(tls: TLSFiles) -> ssl.SSLContext:
    """For a connection of our own to an engine (a shell's hijacked socket, a stats stream), not
    requests': the cluster's CA alone (the environment's bundles play no part), its client pair."""
    import ssl

    preflight(tls)
    if tls.verify:
        context = ssl.create_default_context(cafile=tls.ca or None)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert:
        context.load_cert_chain(tls.cert, tls.key)
    return context


# --------------------------------------------------------------------------- endpoints


# --------------------------------------------------------------------------- explaining failures

_UNKNOWN_CA_CODES = {2, 18, 19, 20, 21, 27}  # unable to get issuer / self-signed / untrusted
_HOST_CODES = {62, 64}  # hostname mismatch / IP address mismatch
_EXPIRED, _NOT_YET_VALID = 10, 9
_CLIENT_REJECTED = (
    "ALERT_UNKNOWN_CA",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_CERTIFICATE_REVOKED",
    "ALERT_UNSUPPORTED_CERTIFICATE",
    "ALERT_ACCESS_DENIED",
    "ALERT_DECRYPT_ERROR",
)
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL")
_PLAIN_TO_TLS = "client sent an http request to an https server"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: causes, contexts, args, ``reason`` (urllib3)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        linked = [item.__cause__, item.__context__, getattr(item, "reason", None)]
        linked += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]


def _texts(exc: BaseException) -> str:
    parts = []
    for item in _chain(exc):
        parts.append(str(item))
        response = getattr(item, "response", None)
        text = getattr(response, "text", None) if response is not None else None
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)


def _host(url: str) -> str:
    try:
        return parse_endpoint(url).host or url
    except BadEndpoint:
        return url


def _client_rejected(url: str, tls: TLSFiles | None) -> TLSProblem:
    if tls is None or not tls.cert:
        return TLSProblem(
            f"The engine at {url} requires a client certificate and none was sent: give the cluster "
            "its certificate and key (tls_cert, tls_key, or cert.pem and key.pem in the bundle)."
        )
    try:
        _check_dates("cert", tls.cert, [_der(b) for label, b in _pem_blocks(Path(tls.cert).read_bytes())
                                        if label == "CERTIFICATE"][:1], time.time())
    except TLSProblem as dated:
        return TLSProblem(f"The engine at {url} rejected the client certificate. {dated}")
    except OSError:
        pass
    return TLSProblem(
        f"The engine at {url} rejected the client certificate ({tls.cert}): it was not issued by the CA "
        "this engine trusts (or was revoked); download this cluster's credentials again."
    )


def explain(exc: BaseException, url: str, tls: TLSFiles | None) -> TLSProblem | None:
    """A TLSProblem with its own sentence when ``exc`` is a TLS failure talking to ``url``; else None.

    Works on what docker-py, requests, urllib3 and ssl raise, however deeply
    wrapped. ``tls`` may be None (plain HTTP spoken to a TLS port is explained too).
    """
    import ssl

    ca = f" ({tls.ca})" if tls is not None and tls.ca else " (the system's CAs)"
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            code = getattr(item, "verify_code", None)
            said = getattr(item, "verify_message", "") or str(item)
            if code in _HOST_CODES or "mismatch" in said.lower():
                return TLSProblem(
                    f'The engine at {url} presented a certificate that is not valid for the name "{_host(url)}" '
                    f"({said.rstrip('.')}): connect with a name or address the certificate lists, or have the "
                    "engine's certificate reissued for this one."
                )
            if code == _EXPIRED:
                return TLSProblem(
                    f"The engine at {url} presented an expired certificate: the engine's TLS certificate must "
                    "be renewed on the server (the client side is fine)."
                )
            if code == _NOT_YET_VALID:
                return TLSProblem(
                    f"The engine at {url} presented a certificate that is not valid yet: check the clock of "
                    "this machine and of the engine."
                )
            if code in _UNKNOWN_CA_CODES or "issuer" in said or "self-signed" in said or "self signed" in said:
                return TLSProblem(
                    f"The engine's certificate is not signed by the cluster's CA{ca}: the engine at {url} "
                    "belongs to another cluster, or the CA file is not this cluster's; download the cluster's "
                    "credentials again."
                )
            return TLSProblem(f"The engine's certificate at {url} could not be verified ({said}).")
        if isinstance(item, ssl.SSLError):
            reason = str(getattr(item, "reason", "") or "") or str(item)
            upper = reason.upper()
            if "CERTIFICATE_REQUIRED" in upper:
                return TLSProblem(
                    f"The engine at {url} requires a client certificate and none was sent: give the cluster "
                    "its certificate and key (tls_cert, tls_key, or cert.pem and key.pem in the bundle)."
                )
            if any(name in upper for name in _CLIENT_REJECTED):
                return _client_rejected(url, tls)
            if any(name in upper for name in _NOT_TLS):
                return TLSProblem(
                    f"The engine at {url} does not speak TLS on that port: it answered in plain HTTP. Use its "
                    "TLS port (usually 2376), or, for a plain port on a trusted network, drop the TLS settings."
                )
    if _PLAIN_TO_TLS in _texts(exc).lower():
        return TLSProblem(
            f"The engine at {url} expects TLS, but carina-tui spoke plain HTTP to it: give the cluster its "
            "CA, certificate and key (tls_ca, tls_cert, tls_key; or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH)."
        )
    return None
