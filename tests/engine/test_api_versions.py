"""Engines of mixed API versions: the version is negotiated per engine (or pinned by
DOCKER_API_VERSION, as the docker CLI does), shown per engine in ``status --json``, and a feature
an engine's API lacks is a sentence, never a failure of another kind.

Against the real engine pinned to an older client version, and against ``OldEngineDouble`` (a
proxy in front of the real engine that says it is older) for what the real engine cannot do:
be older than carina-tui supports, lack a feature, be replaced by an older one while a session
holds it, or refuse a pinned version as too old."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from harness import carina
from old_engine_double import OldEngineDouble

from carina_tui.core.api_versions import ApiTooOld
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.specs import NetworkSpec
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.services.session import Session


@pytest.fixture
def old_engine(docker_host):
    """An engine that says it speaks API 1.24 at most (Docker 1.12); ``.maximum`` may be changed."""
    folder = Path(tempfile.mkdtemp(prefix="carina-old-"))  # a unix socket path must stay short
    double = OldEngineDouble(docker_host, folder / "old.sock", maximum="1.24")
    yield double
    double.close()
    shutil.rmtree(folder, ignore_errors=True)


def engine_api(test_engine) -> str:
    return test_engine.docker("version", "--format", "{{.Server.APIVersion}}").strip()


def status(host: str, **env: str) -> tuple[int, dict, str]:
    done = carina("--host", host, "status", "--json", env=env)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr.strip()


def networks_named(test_engine, name: str) -> list[str]:
    return test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{name}$").split()


# -- the real engine ------------------------------------------------------------------------------

def test_status_shows_the_api_version_each_engine_speaks(docker_host, test_engine):
    code, doc, _err = status(docker_host)
    assert code == 0 and doc["engines"][0]["api_version"] == engine_api(test_engine)
    code, doc, _err = status(docker_host, DOCKER_API_VERSION="1.24")
    assert code == 0 and doc["engines"][0]["api_version"] == "1.24"
    assert doc["containers"]["total"] >= 0 and doc["networks"], "the pinned engine is read as before"


def test_a_pinned_old_version_is_spoken_on_every_path(docker_host, test_engine, scratch, monkeypatch):
    web = scratch.run("pinned-web")
    monkeypatch.setenv("DOCKER_API_VERSION", "1.24")
    gateway = DockerGateway(docker_host)
    try:
        assert gateway.info().api_version == "1.24"  # kept-alive, /v1.24/info
        assert web in {c.name for c in gateway.containers()}
        assert gateway.api.api_version == "1.24"  # docker-py, not negotiated up
        assert gateway.network("bridge").network.name == "bridge"
    finally:
        gateway.close()


def test_a_feature_newer_than_the_pinned_version_is_a_sentence(docker_host, test_engine, unique_name, monkeypatch):
    monkeypatch.setenv("DOCKER_API_VERSION", "1.24")
    session = Session(ClusterSpec("old", "cli", (docker_host,)))
    try:
        with pytest.raises(ApiTooOld) as refused:
            session.guard.create_network(docker_host, NetworkSpec(unique_name, attachable=True))
        assert str(refused.value) == (
            f"The engine at {docker_host} speaks Docker API 1.24 (Docker 1.12), and an attachable overlay network "
            "needs API 1.25 or newer (Docker 1.13); upgrade that engine, or do this on an engine that has it.")
        assert networks_named(test_engine, unique_name) == [], "nothing was made half-way"
        plain = session.guard.create_network(docker_host, NetworkSpec(unique_name))  # what 1.24 has still works
        assert networks_named(test_engine, unique_name) == [plain[:12]]
    finally:
        test_engine.docker("network", "rm", unique_name, check=False)
        session.close()


@pytest.mark.parametrize("pin, sentence", [
    ("1.23", "DOCKER_API_VERSION is 1.23, and carina-tui needs API 1.24 or newer (Docker 1.12); unset it to let "
             "each engine say its own."),
    ("banana", 'DOCKER_API_VERSION is "banana", which is not an API version; write it like 1.41, or unset it to '
               "let each engine say its own."),
])
def test_a_pin_carina_tui_cannot_speak_is_a_sentence(docker_host, pin, sentence):
    code, _doc, err = status(docker_host, DOCKER_API_VERSION=pin)
    assert (code, err) == (1, f"carina-tui: {sentence}")


# -- an old engine (the double) -------------------------------------------------------------------

def test_an_old_engine_is_spoken_to_in_its_own_version(old_engine, test_engine):
    code, doc, _err = status(old_engine.url)
    assert code == 0 and doc["engines"][0]["api_version"] == "1.24"
    gateway = DockerGateway(old_engine.url)
    try:
        assert gateway.api.api_version == "1.24", "docker-py's auto asked the engine"
        gateway.network("bridge")
    finally:
        gateway.close()
    asked = [p for p in old_engine.paths if re.match(r"/v\d", p.split()[1])]
    assert asked and all(p.split()[1].startswith("/v1.24/") for p in asked), asked


def test_a_cluster_of_mixed_versions_shows_each_engines_own(old_engine, docker_host, test_engine, tmp_path):
    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.mixed]\nendpoints = ["{docker_host}", "{old_engine.url}"]\n')
    done = carina("--config", str(config), "--cluster", "mixed", "status", "--json")
    versions = {e["endpoint"]: e["api_version"] for e in json.loads(done.stdout)["engines"]}
    assert versions == {docker_host: engine_api(test_engine), old_engine.url: "1.24"}


def test_a_feature_the_old_engine_lacks_is_a_sentence_and_nothing_is_made(old_engine, test_engine, unique_name):
    session = Session(ClusterSpec("old", "cli", (old_engine.url,)))
    try:
        with pytest.raises(ApiTooOld, match=r"speaks Docker API 1\.24 \(Docker 1\.12\), and an attachable overlay "
                                            r"network needs API 1\.25 or newer"):
            session.guard.create_network(old_engine.url, NetworkSpec(unique_name, attachable=True))
        assert networks_named(test_engine, unique_name) == []
    finally:
        session.close()


def test_network_prune_works_on_an_old_engine(old_engine, test_engine, scratch):
    """Prune removes the previewed networks one by one (DELETE, every version has it), not with
    POST /networks/prune (API 1.25): an engine of 1.24 is pruned all the same."""
    name = scratch.network("old-prune")
    session = Session(ClusterSpec("old", "cli", (old_engine.url,)))
    try:
        planned = [n for n in session.gateways[old_engine.url].networks() if n.name == name]
        outcomes = session.guard.prune_networks(planned)
        assert [(o.name, o.result, o.reason) for o in outcomes] == [(name, "removed", "")]
    finally:
        session.close()
    assert networks_named(test_engine, name) == []
    assert not any("/networks/prune" in p for p in old_engine.paths)


def test_an_engine_older_than_carina_tui_supports_is_a_sentence(old_engine):
    old_engine.maximum = "1.23"
    code, doc, _err = status(old_engine.url)
    assert code == 1 and not doc["engines"][0]["reachable"]
    assert doc["engines"][0]["error"] == (
        f"The engine at {old_engine.url} speaks Docker API 1.23 (Docker 1.11), and carina-tui needs API 1.24 or "
        "newer (Docker 1.12); upgrade that engine to reach it from here.")
    gateway = DockerGateway(old_engine.url)
    try:
        with pytest.raises(ApiTooOld, match=r"a Docker API older than that, and carina-tui needs API 1\.24"):
            gateway.network("bridge")  # docker-py refuses at once
    finally:
        gateway.close()


def test_an_engine_replaced_by_an_older_one_is_asked_again(old_engine, test_engine):
    old_engine.maximum = engine_api(test_engine)
    gateway = DockerGateway(old_engine.url)
    try:
        gateway.network("bridge")
        assert gateway.api.api_version == old_engine.maximum
        old_engine.maximum = "1.24"  # dvm switched the engine under the console
        with pytest.raises(ApiTooOld) as refused:
            gateway.network("bridge")
        assert str(refused.value) == (
            f"The engine at {old_engine.url} now speaks Docker API 1.24 (Docker 1.12), older than the "
            f"{engine_api(test_engine)} it spoke before (was it replaced?); the next request asks it again: "
            "try once more.")
        gateway.network("bridge")
        assert gateway.api.api_version == "1.24"
        assert gateway.info().api_version == "1.24"
    finally:
        gateway.close()


def test_a_pin_the_engine_refuses_is_a_sentence(old_engine, test_engine):
    old_engine.minimum, old_engine.maximum = "1.40", engine_api(test_engine)
    gateway = DockerGateway(old_engine.url, api_pin="1.24")
    try:
        with pytest.raises(ApiTooOld) as refused:
            gateway.info()
        assert str(refused.value) == (
            f"The engine at {old_engine.url} speaks Docker API 1.40 and newer only, and DOCKER_API_VERSION=1.24 "
            "asks for 1.24; unset DOCKER_API_VERSION or set it to 1.40 or newer.")
    finally:
        gateway.close()
    old_engine.minimum, old_engine.maximum = "1.12", "1.24"
    gateway = DockerGateway(old_engine.url, api_pin="1.41")
    try:
        with pytest.raises(ApiTooOld) as refused:
            gateway.network("bridge")  # docker-py, pinned: /v1.41/...
        assert str(refused.value) == (
            f"The engine at {old_engine.url} speaks Docker API 1.24 (Docker 1.12) at most, older than "
            "DOCKER_API_VERSION=1.41; set it to 1.24 or unset it.")
    finally:
        gateway.close()
