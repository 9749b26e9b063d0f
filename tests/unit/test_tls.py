"""TLS files checked before connecting, and the rule against plain TCP to a remote engine.

No engine here: these are the checks on files and addresses (``test_tls_engine``
covers what an engine says).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import docker
import pytest

import tlsutil
from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.errors import TLSProblem
from carina_tui.gateways import tls


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("pki")
    ca = tlsutil.CA(base / "ca")
    return {
        "base": base,
        "ca": ca,
        "client": ca.issue(base / "client", "client", client=True),
        "other": ca.issue(base / "other", "someone-else", client=True),
    }


def files(pki, **changes) -> TLSFiles:
    base = dict(ca=str(pki["ca"].cert), cert=str(pki["client"].cert), key=str(pki["client"].key))
    base.update(changes)
    return TLSFiles(**base)


def problem(tls_files: TLSFiles, **kwargs) -> str:
    with pytest.raises(TLSProblem) as info:
        tls.preflight(tls_files, **kwargs)
    return str(info.value)


def openssl_dates(path: Path) -> tuple[datetime, datetime]:
    out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-startdate", "-enddate"],
                         capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.splitlines())
    parse = lambda s: datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)  # noqa: E731
    return parse(values["notBefore"]), parse(values["notAfter"])


# --------------------------------------------------------------------------- preflight


def test_good_files_pass(pki):
    tls.preflight(files(pki))
    tls.preflight(None)  # no TLS: nothing to check
    tls.preflight(TLSFiles(ca=str(pki["ca"].cert)))  # CA only


def test_missing_file_is_named(pki, tmp_path):
    gone = tmp_path / "nowhere" / "key.pem"
    assert problem(files(pki, key=str(gone))).startswith(f"The client key {gone} does not exist:")
    assert problem(files(pki, ca=str(tmp_path / "ca.pem"))).startswith(f"The CA certificate {tmp_path / 'ca.pem'} does not exist:")


def test_a_folder_instead_of_a_file(pki, tmp_path):
    assert problem(files(pki, cert=str(tmp_path))).startswith(f"The client certificate {tmp_path} is a folder, not a file")


def test_files_that_hold_the_wrong_thing(pki, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("this is not a certificate\n")
    assert "holds no PEM certificate" in problem(files(pki, ca=str(junk)))
    assert "holds no PEM certificate" in problem(files(pki, cert=str(junk)))
    assert problem(files(pki, key=str(junk))) == f"The client key {junk} holds no PEM private key: " \
        "check the cluster's TLS paths, or download its credentials again."
    # The key and the certificate swapped.
    swapped = problem(files(pki, cert=str(pki["client"].key), key=str(pki["client"].cert)))
    assert "holds no PEM" in swapped


def test_a_key_that_does_not_match_the_certificate(pki):
    sentence = problem(files(pki, key=str(pki["other"].key)))
    assert sentence == (
        f"The client key {pki['other'].key} does not belong to the client certificate {pki['client'].cert}: "
        "the two files come from different credentials; download the cluster's credentials again."
    )


def test_a_key_with_a_passphrase(pki, tmp_path):
    locked = tmp_path / "locked.pem"
    tlsutil.openssl("pkey", "-in", str(pki["client"].key), "-out", str(locked), "-aes256", "-passout", "pass:x")
    assert "protected by a passphrase" in problem(files(pki, key=str(locked)))


def test_cert_without_key(pki):
    assert problem(TLSFiles(ca="", cert=str(pki["client"].cert), key="")) == (
        "A client certificate is given without its client key: give both files, or neither."
    )


def test_expired_and_not_yet_valid_client_certificate(pki, tmp_path):
    ca, now = pki["ca"], datetime.now(timezone.utc)
    old = ca.issue(tmp_path / "old", "old", client=True, start=now - timedelta(days=9), end=now - timedelta(days=2))
    early = ca.issue(tmp_path / "early", "early", client=True, start=now + timedelta(days=2), end=now + timedelta(days=9))
    expired = problem(files(pki, cert=str(old.cert), key=str(old.key)))
    _, not_after = openssl_dates(old.cert)
    assert expired.startswith(f"The client certificate {old.cert} expired on {not_after:%Y-%m-%d %H:%M} UTC:")
    assert "is not valid until" in problem(files(pki, cert=str(early.cert), key=str(early.key)))


def test_expired_ca(pki, tmp_path):
    now = datetime.now(timezone.utc)
    old_ca = tlsutil.CA(tmp_path / "old-ca", "Old CA", start=now - timedelta(days=90), end=now - timedelta(days=1))
    client = old_ca.issue(tmp_path / "c", "c", client=True, start=now - timedelta(days=80), end=now + timedelta(days=9))
    sentence = problem(TLSFiles(ca=str(old_ca.cert), cert=str(client.cert), key=str(client.key)))
    assert sentence.startswith(f"The CA certificate {old_ca.cert} expired on ")


def test_the_ca_is_not_checked_when_verification_is_off(pki, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    tls.preflight(files(pki, ca=str(junk), verify=False))
    assert "holds no PEM certificate" in problem(files(pki, ca=str(junk)))


def test_a_ca_bundle_with_one_valid_certificate_passes(pki, tmp_path):
    now = datetime.now(timezone.utc)
    old_ca = tlsutil.CA(tmp_path / "old-ca", "Old CA", start=now - timedelta(days=90), end=now - timedelta(days=1))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(old_ca.cert.read_bytes() + pki["ca"].cert.read_bytes())
    tls.preflight(files(pki, ca=str(bundle)))


def test_clock_is_a_parameter(pki):
    _, not_after = openssl_dates(pki["client"].cert)
    later = (not_after + timedelta(days=1)).timestamp()
    assert "expired on" in problem(files(pki), now=later)


def test_certificate_validity_reads_the_same_dates_as_openssl(pki, tmp_path):
    now = datetime.now(timezone.utc)
    # 2051 needs GeneralizedTime; 2049 still uses UTCTime: both encodings are read.
    for end in (now + timedelta(days=3), datetime(2049, 6, 1, tzinfo=timezone.utc), datetime(2051, 6, 1, tzinfo=timezone.utc)):
        pair = pki["ca"].issue(tmp_path / f"c{end.year}", "c", client=True, end=end)
        der = tls._der(tls._pem_blocks(pair.cert.read_bytes())[0][1])
        assert tls.certificate_validity(der) == openssl_dates(pair.cert)


# --------------------------------------------------------------------------- docker-py config


def test_docker_tls_config_carries_the_files(pki):
    config = tls.docker_tls_config(files(pki), "tcp://127.0.0.1:2376")
    assert isinstance(config, docker.tls.TLSConfig)
    assert config.cert == (str(pki["client"].cert), str(pki["client"].key))
    assert config.ca_cert == str(pki["ca"].cert) and config.verify is True
    unverified = tls.docker_tls_config(files(pki, verify=False), "tcp://127.0.0.1:2376")
    assert unverified.verify is False


def test_docker_tls_config_with_a_missing_file_says_which(pki, tmp_path):
    with pytest.raises(TLSProblem, match="client key .* does not exist"):
        tls.docker_tls_config(files(pki, key=str(tmp_path / "gone.pem")), "tcp://127.0.0.1:2376")


def test_pin_ca_leaves_system_trust_alone(pki):
    api = docker.APIClient(base_url="tcp://127.0.0.1:2376", version="1.41", tls=False)
    before = api.merge_environment_settings
    tls.pin_ca(api, TLSFiles())  # TLS verified against the system's CAs: the variables are the user's choice
    tls.pin_ca(api, None)
    assert api.merge_environment_settings == before
    tls.pin_ca(api, files(pki))
    merged = api.merge_environment_settings("https://127.0.0.1:2376/v1.41/info", {}, None, None, None)
    assert merged["verify"] == str(pki["ca"].cert)


# --------------------------------------------------------------------------- the endpoint rule


def spec(*endpoints: str, **kw) -> ClusterSpec:
    return ClusterSpec(name="c", source=kw.pop("source", "config"), endpoints=endpoints,
                       origin=kw.pop("origin", "/home/u/.config/carina-tui/clusters.toml"), **kw)


def test_remote_tcp_without_tls_is_refused():
    with pytest.raises(TLSProblem) as info:
        tls.check_endpoint(spec("unix:///var/run/docker.sock", "tcp://203.0.113.10:2375"))
    sentence = str(info.value)
    assert sentence.startswith("carina-tui will not connect to tcp://203.0.113.10:2375 without TLS")
    assert "insecure = true for [clusters.c] in /home/u/.config/carina-tui/clusters.toml" in sentence


def test_refusal_for_an_entry_outside_the_config_says_where_to_allow_it():
    with pytest.raises(TLSProblem, match=r"insecure = true in a \[clusters.NAME\] entry of clusters.toml"):
        tls.check_endpoint(spec("tcp://docker.example.com:2375", source="env", origin="DOCKER_HOST"))


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:2375", "tcp://127.8.9.10:2375", "tcp://localhost:2375",
                                 "tcp://[::1]:2375", "unix:///run/docker.sock", "ssh://me@203.0.113.10"])
def test_loopback_sockets_and_ssh_are_allowed_without_tls(url):
    tls.check_endpoint(spec(url))


def test_tls_or_insecure_allow_a_remote_engine():
    tls.check_endpoint(spec("tcp://203.0.113.10:2376", tls=TLSFiles(ca="/ca.pem")))
    tls.check_endpoint(spec("tcp://203.0.113.10:2375", insecure=True))


def test_a_bad_address_is_a_sentence():
    with pytest.raises(TLSProblem, match='The engine address "tcp://203.0.113.10" of c has no port'):
        tls.check_endpoint(spec("tcp://203.0.113.10"))


def test_explain_leaves_other_errors_alone():
    assert tls.explain(ValueError("nothing to do with TLS"), "tcp://127.0.0.1:1", None) is None
    assert tls.explain(ConnectionRefusedError(111, "Connection refused"), "tcp://127.0.0.1:1", None) is None
