"""TLS against a real engine: dockerd with --tlsverify in a network namespace of its own.

One engine for the module. It listens on 127.0.0.1:2376 inside its namespace
(TLS, client certificates required) and on a Unix socket. Relays make it
reachable from here: on 127.0.0.1 (a name its certificate lists), on 127.0.0.2
(one it does not), and a plain-HTTP TCP port onto its Unix socket.

docker-py is used directly here, only to check the TLS plumbing; the console's
own gateway is tested elsewhere.
"""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import docker
import pytest

import tlsutil
from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.config import load_config
from carina_tui.core.errors import TLSProblem
from carina_tui.gateways import discovery, tls
from tls_lab import SYSTEM_BUNDLE, lab  # noqa: F401 - lab is the module-scoped engine fixture


@pytest.fixture(autouse=True)
def system_ca_bundle_in_env(monkeypatch):
    """As on this machine and many others: requests is told to trust the system CAs only."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)


def connect(url: str, files: TLSFiles | None) -> docker.APIClient:
    """Connect the way the docker gateway does: preflight is the caller's choice, then the pinned config."""
    config = tls.docker_tls_config(files, url) if files is not None else False
    api = docker.APIClient(base_url=url, version="auto", timeout=10, tls=config)
    if files is not None:
        tls.pin_ca(api, files)
    return api


def failure(url: str, files: TLSFiles | None) -> TLSProblem:
    """Connect, expect a failure, and return what ``explain`` makes of it."""
    with pytest.raises(docker.errors.DockerException) as info:
        connect(url, files).info()
    problem = tls.explain(info.value, url, files)
    assert problem is not None, f"explain() had nothing to say about: {info.value}"
    return problem


# --------------------------------------------------------------------------- the cluster's CA wins


def test_the_clusters_ca_wins_over_requests_ca_bundle(lab):
    assert os.environ["REQUESTS_CA_BUNDLE"] == SYSTEM_BUNDLE
    tls.preflight(lab.files)
    api = connect(lab.tls_relay.url, lab.files)
    assert api.info()["ID"] == lab.engine_id()
    # A second request on the same pooled client still verifies against the cluster's CA.
    assert api.version()["ApiVersion"]


def test_without_pinning_the_variable_wins_and_tls_fails(lab):
    """The failure pin_ca exists for, shown with docker-py's own TLSConfig."""
    plain = docker.tls.TLSConfig(client_cert=(str(lab.client.cert), str(lab.client.key)),
                                 ca_cert=str(lab.ca.cert), verify=True)
    with pytest.raises(docker.errors.DockerException, match="unable to get local issuer certificate"):
        docker.APIClient(base_url=lab.tls_relay.url, version="auto", timeout=10, tls=plain)


def test_pin_ca_fixes_a_client_built_without_our_config(lab):
    plain = docker.tls.TLSConfig(client_cert=(str(lab.client.cert), str(lab.client.key)),
                                 ca_cert=str(lab.ca.cert), verify=True)
    api = docker.APIClient(base_url=lab.tls_relay.url, version="1.41", timeout=10, tls=plain)
    tls.pin_ca(api, lab.files)
    tls.pin_ca(api, lab.files)  # idempotent
    assert api.info()["ID"] == lab.engine_id()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_off_stays_off_despite_the_variable(lab):
    files = TLSFiles(ca="", cert=str(lab.client.cert), key=str(lab.client.key), verify=False)
    api = connect(lab.wrong_name_relay.url, files)  # a name the certificate does not list: unverified TLS ignores it
    assert api.info()["ID"] == lab.engine_id()


def test_proxy_variables_still_apply_to_a_pinned_client(lab, monkeypatch):
    """We keep trust_env: a proxy that does not exist must be tried (and fail), as with the docker CLI."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(docker.errors.DockerException, match="(?i)proxy"):
        connect(lab.tls_relay.url, lab.files)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert connect(lab.tls_relay.url, lab.files).info()["ID"] == lab.engine_id()


# --------------------------------------------------------------------------- Carina bundles


def test_carina_bundles_old_and_new_layout_are_discovered_and_work(lab):
    home = Path(os.environ["CARINA_HOME"])
    url = lab.tls_relay.url
    tlsutil.write_bundle(home / "clusters/alice/old", url, lab.ca.cert, lab.client.cert, lab.client.key)
    tlsutil.write_bundle(home / "clusters/alice/new", url, lab.ca.cert, lab.client.cert, lab.client.key,
                         new_layout=True, cluster_name="newer")
    found = {s.name: s for s in discovery.discover(load_config()) if s.source == "carina"}
    assert set(found) == {"old", "newer"}
    assert found["newer"].tls.cert.endswith("user.pem") and found["newer"].tls.key.endswith("user-key.pem")
    assert found["old"].tls.cert.endswith("/old/cert.pem")
    for spec in found.values():
        assert spec.problem == "" and spec.endpoints == (url,)
        tls.check_endpoint(spec)
        tls.preflight(spec.tls)
        assert connect(spec.endpoints[0], spec.tls).info()["ID"] == lab.engine_id()


def test_the_wrong_ca_is_refused_with_its_sentence(lab):
    files = TLSFiles(ca=str(lab.other_ca.cert), cert=str(lab.client.cert), key=str(lab.client.key))
    tls.preflight(files)  # nothing wrong with the files themselves
    problem = failure(lab.tls_relay.url, files)
    assert str(problem).startswith(f"The engine's certificate is not signed by the cluster's CA ({lab.other_ca.cert})")
    assert isinstance(problem, TLSProblem)


def test_a_name_the_certificate_does_not_list(lab):
    problem = str(failure(lab.wrong_name_relay.url, lab.files))
    assert f"The engine at {lab.wrong_name_relay.url} presented a certificate that is not valid for the name" in problem
    assert '"127.0.0.2"' in problem


def test_a_client_certificate_from_another_ca_is_rejected(lab):
    files = TLSFiles(ca=str(lab.ca.cert), cert=str(lab.other_client.cert), key=str(lab.other_client.key))
    problem = str(failure(lab.tls_relay.url, files))
    assert problem.startswith(f"The engine at {lab.tls_relay.url} rejected the client certificate ({lab.other_client.cert})")


def test_no_client_certificate(lab):
    problem = str(failure(lab.tls_relay.url, TLSFiles(ca=str(lab.ca.cert))))
    assert "requires a client certificate and none was sent" in problem


def test_expired_client_certificate_caught_before_and_after_connecting(lab):
    files = TLSFiles(ca=str(lab.ca.cert), cert=str(lab.expired_client.cert), key=str(lab.expired_client.key))
    with pytest.raises(TLSProblem) as before:
        tls.preflight(files)
    assert str(before.value).startswith(f"The client certificate {lab.expired_client.cert} expired on ")
    after = str(failure(lab.tls_relay.url, files))  # had we connected anyway: the engine refuses it
    assert after.startswith(f"The engine at {lab.tls_relay.url} rejected the client certificate.")
    assert "expired on" in after


def test_plain_http_spoken_to_the_tls_port(lab):
    problem = str(failure(lab.tls_relay.url, None))
    assert problem.startswith(f"The engine at {lab.tls_relay.url} expects TLS, but carina-tui spoke plain HTTP to it")


def test_tls_spoken_to_a_plain_port(lab):
    assert connect(lab.plain_relay.url, None).info()["ID"] == lab.engine_id()  # the port is a real engine
    problem = str(failure(lab.plain_relay.url, lab.files))
    assert problem.startswith(f"The engine at {lab.plain_relay.url} does not speak TLS on that port")


def test_an_expired_server_certificate(lab, tmp_path):
    now = datetime.now(timezone.utc)
    old = lab.ca.issue(tmp_path / "old-server", "engine", server_names=("IP:127.0.0.1",),
                       start=now - timedelta(days=30), end=now - timedelta(days=2))
    server = tlsutil.TLSServer(old.cert, old.key)
    try:
        problem = str(failure(server.url, lab.files))
    finally:
        server.close()
    assert problem.startswith(f"The engine at {server.url} presented an expired certificate")


def test_connection_refused_is_not_a_tls_problem(lab):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(docker.errors.DockerException) as info:
        connect(url, lab.files)
    assert tls.explain(info.value, url, lab.files) is None


# --------------------------------------------------------------------------- contexts and the environment


def docker_cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_") or k == "DOCKER_CONFIG"}
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_docker_contexts_made_by_the_cli_are_discovered_and_usable(lab):
    docker_cli("context", "create", "lab-tls", "--docker",
               f"host={lab.tls_relay.url},ca={lab.ca.cert},cert={lab.client.cert},key={lab.client.key}")
    docker_cli("context", "create", "lab-socket", "--docker", f"host={lab.engine.url}")
    found = {s.name: s for s in discovery.discover(load_config()) if s.source == "context"}
    assert set(found) == {"lab-tls", "lab-socket"}
    tls_spec, socket_spec = found["lab-tls"], found["lab-socket"]
    assert tls_spec.tls is not None and tls_spec.tls.verify
    assert socket_spec.tls is None and socket_spec.endpoints == (lab.engine.url,)
    assert connect(tls_spec.endpoints[0], tls_spec.tls).info()["ID"] == lab.engine_id()
    assert connect(socket_spec.endpoints[0], None).info()["ID"] == lab.engine_id()

    docker_cli("context", "use", "lab-tls")
    current = discovery.default_target()
    assert (current.source, current.name) == ("context", "lab-tls")


def test_docker_host_with_tls_variables_is_the_default_target(lab, monkeypatch, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    for source, name in ((lab.ca.cert, "ca.pem"), (lab.client.cert, "cert.pem"), (lab.client.key, "key.pem")):
        (certs / name).write_bytes(Path(source).read_bytes())
    monkeypatch.setenv("DOCKER_HOST", lab.tls_relay.url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
    target = discovery.default_target()
    assert target.source == "env" and target.tls == TLSFiles(str(certs / "ca.pem"), str(certs / "cert.pem"),
                                                             str(certs / "key.pem"))
    tls.check_endpoint(target)
    tls.preflight(target.tls)
    assert connect(target.endpoints[0], target.tls).info()["ID"] == lab.engine_id()


def test_a_loopback_tcp_engine_without_tls_is_allowed(lab):
    spec = ClusterSpec(name="local", source="config", endpoints=(lab.plain_relay.url,))
    tls.check_endpoint(spec)  # loopback: allowed without TLS
    assert connect(lab.plain_relay.url, None).info()["ID"] == lab.engine_id()


# --------------------------------------------------------------------------- through the docker gateway


def test_the_docker_gateway_connects_with_the_bundle_despite_the_variable(lab):
    from carina_tui.gateways.docker_gateway import DockerGateway

    gateway = DockerGateway(lab.tls_relay.url, tls=lab.files)
    try:
        assert gateway.info().engine_id == lab.engine_id()
    finally:
        gateway.close()


def test_the_docker_gateway_says_the_unknown_ca_sentence(lab):
    from carina_tui.gateways.docker_gateway import DockerGateway

    files = TLSFiles(ca=str(lab.other_ca.cert), cert=str(lab.client.cert), key=str(lab.client.key))
    gateway = DockerGateway(lab.tls_relay.url, tls=files)
    with pytest.raises(TLSProblem) as info:
        gateway.info()
    assert str(info.value).startswith(f"The engine's certificate is not signed by the cluster's CA ({lab.other_ca.cert})")


def test_credentials_removed_while_connected_are_a_sentence_not_an_oserror(lab, tmp_path):
    """requests raises a bare OSError ("Could not find a suitable TLS CA certificate bundle") when the
    CA file it was given is gone, e.g. the cluster's bundle was removed while the console runs."""
    import shutil

    from carina_tui.gateways.docker_gateway import DockerGateway

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for src, name in ((lab.ca.cert, "ca.pem"), (lab.client.cert, "cert.pem"), (lab.client.key, "key.pem")):
        shutil.copyfile(src, bundle / name)
    files = TLSFiles(ca=str(bundle / "ca.pem"), cert=str(bundle / "cert.pem"), key=str(bundle / "key.pem"))
    gateway = DockerGateway(lab.tls_relay.url, tls=files)
    try:
        assert gateway.ping()
        (bundle / "ca.pem").unlink()
        for call in (gateway.ping, gateway.info, gateway.containers, lambda: list(gateway.events())):
            with pytest.raises(TLSProblem) as info:
                call()
            assert str(info.value).startswith(f"The CA certificate {bundle / 'ca.pem'} does not exist"), info.value
    finally:
        gateway.close()
