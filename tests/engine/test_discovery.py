"""Where clusters come from: the config file, Carina bundles, Docker contexts, DOCKER_HOST, the socket.

The autouse ``isolated_environment`` fixture (conftest) gives every test its own
HOME, CARINA_HOME, XDG dirs and DOCKER_CONFIG, and clears DOCKER_HOST & co.
Docker contexts are made with the docker CLI, as a user would. Reaching the
engines is ``test_tls_engine``'s business; here nothing connects.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import tlsutil
from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.config import Config, parse_config
from carina_tui.core.endpoints import DEFAULT_SOCKET
from carina_tui.core.errors import NotFound
from carina_tui.gateways import discovery


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> tlsutil.Pair:
    base = tmp_path_factory.mktemp("certs")
    ca = tlsutil.CA(base / "ca")
    client = ca.issue(base / "client", "client", client=True)
    return {"ca": ca.cert, "cert": client.cert, "key": client.key}


def carina_home() -> Path:
    return Path(os.environ["CARINA_HOME"])


def bundle(root: Path, user: str, name: str, certs, host="tcp://203.0.113.10:2376", **kw) -> Path:
    return tlsutil.write_bundle(root / "clusters" / user / name, host, certs["ca"], certs["cert"], certs["key"], **kw)


def docker_cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_") or k == "DOCKER_CONFIG"}
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def by_source(specs: list[ClusterSpec], source: str) -> dict[str, ClusterSpec]:
    return {s.name: s for s in specs if s.source == source}


# --------------------------------------------------------------------------- nothing configured


def test_with_nothing_there_is_the_default_socket():
    found = discovery.discover(Config())
    assert [(s.name, s.source, s.endpoints) for s in found] == [("default", "default", (DEFAULT_SOCKET,))]
    assert discovery.default_target() == found[0]


# --------------------------------------------------------------------------- Carina bundles


def test_bundles_in_both_layouts(certs):
    old = bundle(carina_home(), "alice", "prod", certs)
    new = bundle(carina_home(), "alice", "staging", certs, host="tcp://203.0.113.20:2376", new_layout=True)
    found = by_source(discovery.discover(Config()), "carina")
    assert set(found) == {"prod", "staging"}
    assert found["prod"].tls == TLSFiles(str(old / "ca.pem"), str(old / "cert.pem"), str(old / "key.pem"))
    assert found["staging"].tls == TLSFiles(str(new / "ca.pem"), str(new / "user.pem"), str(new / "user-key.pem"))
    assert found["staging"].endpoints == ("tcp://203.0.113.20:2376",)
    assert found["prod"].origin == str(old) and found["prod"].problem == ""


def test_the_cluster_name_comes_from_docker_env(certs):
    bundle(carina_home(), "alice", "folder-name", certs, cluster_name="real-name")
    assert set(by_source(discovery.discover(Config()), "carina")) == {"real-name"}


def test_all_carina_homes_are_searched(certs, monkeypatch):
    home = Path(os.environ["HOME"])
    bundle(carina_home(), "u", "one", certs)
    bundle(Path(os.environ["XDG_DATA_HOME"]) / "carina", "u", "two", certs)
    bundle(home / ".carina", "u", "three", certs)
    assert list(by_source(discovery.discover(Config()), "carina")) == ["one", "two", "three"]
    monkeypatch.delenv("CARINA_HOME")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert list(by_source(discovery.discover(Config()), "carina")) == ["three"]


def test_docker_env_is_read_not_run(tmp_path):
    env_file = tmp_path / "docker.env"
    marker = tmp_path / "ran"
    env_file.write_text(
        "# comment\n"
        "export DOCKER_HOST='tcp://203.0.113.10:2376'   # the swarm\n"
        'export DOCKER_TLS_VERIFY="1"\n'
        f"export DOCKER_CERT_PATH=$(touch {marker}; pwd)\n"
        "export DOCKER_VERSION=`touch " + str(marker) + "`\n"
        "CARINA_CLUSTER_NAME=mycluster\n"
        "echo hello\n"
        "export BROKEN='unclosed\n"
        "export A=b c\n"
    )
    assert discovery.read_docker_env(env_file) == {
        "DOCKER_HOST": "tcp://203.0.113.10:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": "",
        "DOCKER_VERSION": "",
        "CARINA_CLUSTER_NAME": "mycluster",
    }
    assert not marker.exists()


def test_certificates_found_through_a_literal_cert_path(certs, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for key, name in (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem")):
        (elsewhere / name).write_bytes(Path(certs[key]).read_bytes())
    folder = carina_home() / "clusters" / "u" / "split"
    folder.mkdir(parents=True)
    (folder / "docker.env").write_text(f"export DOCKER_HOST=tcp://203.0.113.9:2376\nexport DOCKER_CERT_PATH={elsewhere}\n")
    (spec,) = discovery.carina_bundles()
    assert spec.problem == "" and spec.tls.ca == str(elsewhere / "ca.pem")


def test_bad_bundles_are_listed_with_their_problem(certs):
    root = carina_home() / "clusters" / "bob"
    no_env = root / "no-env"
    no_env.mkdir(parents=True)
    (no_env / "ca.pem").write_text("x")
    no_host = bundle(carina_home(), "bob", "no-host", certs)
    (no_host / "docker.env").write_text("export DOCKER_TLS_VERIFY=1\n")
    missing = bundle(carina_home(), "bob", "missing", certs)
    (missing / "key.pem").unlink()
    bad_host = bundle(carina_home(), "bob", "bad-host", certs, host="tcp://203.0.113.10")
    good = bundle(carina_home(), "bob", "good", certs)

    found = by_source(discovery.discover(Config()), "carina")
    assert found["good"].problem == "" and found["good"].tls.cert == str(good / "cert.pem")
    assert found["no-env"].problem.startswith(f"The Carina credentials in {no_env} have no docker.env")
    assert found["no-host"].problem == (
        f"{no_host / 'docker.env'} sets no DOCKER_HOST, so the cluster's address is unknown. "
        "Download the credentials again (carina credentials CLUSTER)."
    )
    assert found["missing"].problem.startswith(f"The Carina credentials in {missing} are incomplete: key.pem is missing.")
    assert found["missing"].endpoints == ("tcp://203.0.113.10:2376",)
    assert found["bad-host"].problem == (
        f'The engine address "tcp://203.0.113.10" in {bad_host / "docker.env"} has no port; '
        "add it, for example :2376 for TLS or :2375 without."
    )


def test_kubernetes_bundles_and_stray_files_are_skipped(certs):
    kube = carina_home() / "clusters" / "u" / "kube"
    kube.mkdir(parents=True)
    (kube / "kubectl.env").write_text("export KUBECONFIG=$PWD/kubectl.config\n")
    (carina_home() / "clusters" / "u" / "notes.txt").write_text("hi")
    (carina_home() / "clusters" / "stray.txt").write_text("hi")
    bundle(carina_home(), "u", "swarm", certs)
    assert list(by_source(discovery.discover(Config()), "carina")) == ["swarm"]


# --------------------------------------------------------------------------- Docker contexts


def test_contexts_made_with_the_docker_cli(certs):
    docker_cli("context", "create", "plain", "--docker", "host=unix:///run/other.sock")
    docker_cli("context", "create", "secure", "--docker",
               f"host=tcp://203.0.113.30:2376,ca={certs['ca']},cert={certs['cert']},key={certs['key']}")
    docker_cli("context", "create", "unverified", "--docker",
               f"host=tcp://203.0.113.31:2376,ca={certs['ca']},cert={certs['cert']},key={certs['key']},skip-tls-verify=true")
    # `docker context create` writes no config.json: docker-py alone would look in ~/.docker or ./contexts.
    assert not (Path(os.environ["DOCKER_CONFIG"]) / "config.json").exists()
    found = by_source(discovery.discover(Config()), "context")
    assert list(found) == ["plain", "secure", "unverified"]
    assert found["plain"].endpoints == ("unix:///run/other.sock",) and found["plain"].tls is None
    secure = found["secure"]
    assert secure.endpoints == ("tcp://203.0.113.30:2376",)
    assert secure.tls.verify and Path(secure.tls.ca).read_bytes() == Path(certs["ca"]).read_bytes()
    assert Path(secure.tls.key).read_bytes() == Path(certs["key"]).read_bytes()
    assert found["unverified"].tls.verify is False
    assert "default" not in found  # the built-in one is DOCKER_HOST or the socket, listed as such


def test_the_current_context_is_the_default_target():
    docker_cli("context", "create", "mine", "--docker", "host=unix:///run/mine.sock")
    assert discovery.default_target().source == "default"
    docker_cli("context", "use", "mine")
    target = discovery.default_target()
    assert (target.name, target.source, target.endpoints) == ("mine", "context", ("unix:///run/mine.sock",))


def test_docker_context_variable_beats_the_current_context(monkeypatch):
    docker_cli("context", "create", "one", "--docker", "host=unix:///run/one.sock")
    docker_cli("context", "create", "two", "--docker", "host=unix:///run/two.sock")
    docker_cli("context", "use", "one")
    monkeypatch.setenv("DOCKER_CONTEXT", "two")
    assert discovery.default_target().name == "two"
    monkeypatch.setenv("DOCKER_CONTEXT", "gone")
    missing = discovery.default_target()
    assert missing.endpoints == () and "The current Docker context gone (from DOCKER_CONTEXT) does not exist" in missing.problem
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/env.sock")  # DOCKER_HOST wins over any context
    assert discovery.default_target().endpoints == ("unix:///run/env.sock",)


def test_docker_config_is_honoured(tmp_path, monkeypatch):
    docker_cli("context", "create", "here", "--docker", "host=unix:///run/here.sock")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "other-docker-config"))
    assert by_source(discovery.discover(Config()), "context") == {}
    monkeypatch.delenv("DOCKER_CONFIG")  # then ~/.docker, like the CLI
    docker_cli("context", "create", "in-home", "--docker", "host=unix:///run/home.sock")
    assert (Path(os.environ["HOME"]) / ".docker" / "contexts").is_dir()
    assert list(by_source(discovery.discover(Config()), "context")) == ["in-home"]


def test_a_broken_context_store_is_an_entry_not_a_crash():
    docker_cli("context", "create", "fine", "--docker", "host=unix:///run/fine.sock")
    meta = Path(os.environ["DOCKER_CONFIG"]) / "contexts" / "meta" / "x"
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text("{not json")
    (spec,) = by_source(discovery.discover(Config()), "context").values()
    assert spec.problem.startswith("The Docker contexts in ") and "cannot be read" in spec.problem


# --------------------------------------------------------------------------- DOCKER_HOST & friends


def test_docker_host_with_tls_variables(monkeypatch, certs):
    cert_path = Path(certs["ca"]).parent
    monkeypatch.setenv("DOCKER_HOST", "tcp://203.0.113.40:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(cert_path))
    target = discovery.default_target()
    assert (target.name, target.source, target.origin) == ("env", "env", "DOCKER_HOST")
    # Only ca.pem is in that folder: the CLI drops a default client certificate that is missing.
    assert target.tls == TLSFiles(ca=str(cert_path / "ca.pem"))
    assert target in discovery.discover(Config())


def test_tls_variables_like_the_docker_cli(monkeypatch, tmp_path):
    assert discovery.tls_from_env({}) is None
    assert discovery.tls_from_env({"DOCKER_CERT_PATH": str(tmp_path)}) is None  # a cert path alone is not TLS
    assert discovery.tls_from_env({"DOCKER_TLS_VERIFY": ""}) is None
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    assert discovery.tls_from_env({"DOCKER_TLS": "1", "DOCKER_CERT_PATH": str(tmp_path)}) == TLSFiles(
        ca="", cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "key.pem"), verify=False)
    home = tmp_path / "home"
    assert discovery.tls_from_env({"DOCKER_TLS_VERIFY": "0", "HOME": str(home)}).ca == str(home / ".docker" / "ca.pem")


def test_host_option_and_a_bad_docker_host():
    spec = discovery.host_target("tcp://127.0.0.1:2375", {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/c"})
    assert (spec.source, spec.endpoints, spec.tls.ca) == ("cli", ("tcp://127.0.0.1:2375",), "/c/ca.pem")
    bad = discovery.default_target({"DOCKER_HOST": "localhost:2375"})
    assert bad.problem == 'The engine address "localhost:2375" in DOCKER_HOST has no scheme; write it like ' \
        "tcp://203.0.113.10:2376 or unix:///var/run/docker.sock."


def test_a_repeat_of_an_earlier_entry_is_left_out(monkeypatch, certs):
    folder = bundle(carina_home(), "alice", "prod", certs)
    monkeypatch.setenv("DOCKER_HOST", "tcp://203.0.113.10:2376")  # eval $(carina env prod)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(folder))
    found = discovery.discover(Config())
    assert [(s.source, s.name) for s in found] == [("carina", "prod"), ("default", "default")]
    monkeypatch.setenv("DOCKER_HOST", DEFAULT_SOCKET)
    monkeypatch.delenv("DOCKER_TLS_VERIFY")
    assert [s.source for s in discovery.discover(Config())] == ["carina", "env"]


# --------------------------------------------------------------------------- all together


def test_sources_in_order_and_find(certs, tmp_path, monkeypatch):
    config = parse_config('[clusters.prod]\nendpoints = ["tcp://203.0.113.1:2376"]\ntls_ca = "/ca.pem"\n',
                          tmp_path / "clusters.toml")
    bundle(carina_home(), "alice", "prod", certs)  # the same name as the config's
    bundle(carina_home(), "alice", "dev", certs, host="tcp://203.0.113.2:2376")
    docker_cli("context", "create", "ctx", "--docker", "host=unix:///run/ctx.sock")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/env.sock")
    found = discovery.discover(config)
    assert [(s.source, s.name) for s in found] == [
        ("config", "prod"), ("carina", "dev"), ("carina", "prod"), ("context", "ctx"), ("env", "env"),
        ("default", "default"),
    ]
    assert discovery.find("prod", config).source == "config"  # the first source wins
    assert discovery.find("carina:prod", config).source == "carina"
    assert discovery.find("ctx", specs=found).endpoints == ("unix:///run/ctx.sock",)
    with pytest.raises(NotFound) as info:
        discovery.find("nope", specs=found)
    assert str(info.value) == (
        'No cluster is named "nope". The clusters there are: prod, dev, ctx, env, default. '
        "Run `carina-tui clusters` to see them with their sources."
    )


def test_contexts_listing_does_not_leave_docker_py_patched():
    import docker.context.config as context_config

    before = context_config.find_config_file
    discovery.discover(Config())
    discovery.default_target()
    assert context_config.find_config_file is before


def test_meta_json_of_a_context_is_what_the_cli_wrote():
    """Guards the assumption that contexts live under DOCKER_CONFIG/contexts/meta."""
    docker_cli("context", "create", "check", "--docker", "host=unix:///run/check.sock")
    metas = list((Path(os.environ["DOCKER_CONFIG"]) / "contexts" / "meta").glob("*/meta.json"))
    assert [json.loads(m.read_text())["Name"] for m in metas] == ["check"]
    assert by_source(discovery.discover(Config()), "context")["check"].endpoints == ("unix:///run/check.sock",)


def test_contexts_with_part_of_the_tls_material(certs):
    """docker-py loads context TLS only as a full set; the docker CLI also uses a CA alone, or skip-tls-verify."""
    docker_cli("context", "create", "ca-only", "--docker", f"host=tcp://203.0.113.50:2376,ca={certs['ca']}")
    docker_cli("context", "create", "skip", "--docker", "host=tcp://203.0.113.51:2376,skip-tls-verify=true")
    docker_cli("context", "create", "plain-tcp", "--docker", "host=tcp://127.0.0.1:2375")
    found = by_source(discovery.discover(Config()), "context")
    ca_only = found["ca-only"].tls
    assert ca_only.verify and ca_only.cert == "" and Path(ca_only.ca).read_bytes() == Path(certs["ca"]).read_bytes()
    assert found["skip"].tls == TLSFiles(verify=False)
    assert found["plain-tcp"].tls is None


def test_a_bundle_for_a_configured_cluster_is_listed_once(tmp_path, monkeypatch):
    from carina_tui.core.config import parse_config
    from carina_tui.gateways import discovery

    home = tmp_path / "carina"
    folder = home / "clusters" / "alice" / "prod"
    folder.mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (folder / name).write_text("x")
    (folder / "docker.env").write_text("export DOCKER_HOST=tcp://203.0.113.10:2376\nexport DOCKER_TLS_VERIFY=1\n"
                                       f"export DOCKER_CERT_PATH={folder}\n")
    monkeypatch.setenv("CARINA_HOME", str(home))
    config = parse_config('[clusters.prod]\nendpoints = ["tcp://203.0.113.10:2376", "tcp://203.0.113.11:2376"]\n'
                          'tls_ca = "/c/ca.pem"\ntls_cert = "/c/cert.pem"\ntls_key = "/c/key.pem"\n', tmp_path / "c.toml")
    alone = [(s.name, s.source) for s in discovery.discover(parse_config("", tmp_path / "empty.toml"))]
    assert ("prod", "carina") in alone  # the bundle is found when the config does not describe it
    names = [(s.name, s.source) for s in discovery.discover(config)]
    assert names.count(("prod", "config")) == 1 and ("prod", "carina") not in names
