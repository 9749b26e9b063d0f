"""The harness itself: the engine answers, the local images exist, tests are isolated,
and a private engine can be stopped without leaving anything behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import harness
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE, CONSUL_IMAGE


def test_engine_answers(test_engine: harness.TestEngine, docker_host: str):
    assert docker_host == test_engine.url
    assert test_engine.answers()
    assert test_engine.docker("version", "--format", "{{.Server.Os}}").strip() == "linux"


def test_local_images_exist_and_run(test_engine: harness.TestEngine, scratch: harness.Scratch):
    for image in (BUSYBOX_IMAGE, CONSUL_IMAGE):
        assert test_engine.docker("images", "--quiet", image).strip(), image
    out = test_engine.docker("run", "--rm", "--label", harness.TEST_LABEL, BUSYBOX_IMAGE, "sh", "-c",
                             "echo hello; ls /bin/httpd /bin/nslookup /bin/wget /bin/sleep /bin/true")
    assert out.splitlines()[0] == "hello"


def test_scratch_names_are_unique_and_cleaned(test_engine: harness.TestEngine):
    box = harness.Scratch(test_engine)
    other = harness.Scratch(test_engine)
    assert box.name("web") != other.name("web")
    net = box.network("net")
    running = box.run("web", network=net)
    gone = box.exited("job", code=3)
    states = test_engine.docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", running, gone)
    assert states.split("\n")[:2] == ["running 0", "exited 3"]
    box.cleanup()
    assert test_engine.ids(f"name={box.name('')}") == []
    assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name={net}").strip() == ""


def test_environment_is_isolated(isolated_environment: Path):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CARINA_HOME",
                "DOCKER_CONFIG"):
        assert os.environ[var].startswith(str(isolated_environment)), var
    assert os.listdir(os.environ["DOCKER_CONFIG"]) == []
    for var in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "CONSUL_HTTP_TOKEN"):
        assert var not in os.environ, var


@pytest.mark.skipif(os.geteuid() != 0, reason="private engines need root")
def test_private_engine_starts_and_leaves_nothing(tmp_path_factory, unique_name: str):
    folder = Path(harness.tempfile.mkdtemp(prefix=harness.TEST_DIR_PREFIX, dir="/tmp"))
    (folder / harness.OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        started = eng.start_engine(unique_name, folder / "engine", address_pool="10.241.0.0/16")
        again = eng.start_engine(unique_name, folder / "engine")  # idempotent
        assert again.pid == started.pid
        assert eng.ping(started.socket)
        # its own namespace: never the host's
        assert os.stat(f"/proc/{started.pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
        assert eng.netns_exists(started.netns)
        # its own engine ID, not the session engine's
        eng.ensure_busybox_image(started.url)
        url = started.url
        out = eng.docker(url, "run", "--detach", "--name", "sleeper", "busybox:latest", "sleep", "600")
        assert len(out.strip()) == 64
        # a crash (dockerd killed alone), then a restart on the same data
        eng.kill_engine(started)
        assert not eng.ping(started.socket)
        started = eng.start_engine(unique_name, folder / "engine")
        assert eng.docker(url, "ps", "--all", "--format", "{{.Names}}").split() == ["sleeper"]
        eng.stop_engine(started)
        assert eng.leftovers(started) == []
        assert not eng.ping(started.socket)
        # no process of it remains, not even the container's sleep
        ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
        live = [ln for ln in ps.splitlines() if not ln.lstrip().startswith("Z")]
        assert not [ln for ln in live if str(folder) in ln]
    finally:
        known = eng.load_engine(folder / "engine")
        if known is not None:
            eng.stop_engine(known)
        harness.shutil.rmtree(folder, ignore_errors=True)


def test_engine_ids_differ(test_engine: harness.TestEngine, tmp_path_factory, unique_name: str):
    """Two engines on one machine report distinct IDs (``deprecated-key-path``)."""
    if not test_engine.private:
        pytest.skip("needs the private engine machinery (CARINA_TEST_DOCKER_HOST is set)")
    folder = Path(harness.tempfile.mkdtemp(prefix=harness.TEST_DIR_PREFIX, dir="/tmp"))
    (folder / harness.OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        other = eng.start_engine(unique_name, folder / "engine")
        ids = {eng.docker(url, "info", "--format", "{{.ID}}").strip() for url in (other.url, test_engine.url)}
        assert len(ids) == 2
    finally:
        known = eng.load_engine(folder / "engine")
        if known is not None:
            eng.stop_engine(known)
        harness.shutil.rmtree(folder, ignore_errors=True)


def test_bad_engine_name_is_a_sentence(tmp_path):
    with pytest.raises(eng.EngineError) as caught:
        eng.start_engine("Bad Name!", tmp_path / "e")
    assert "not usable" in str(caught.value) and str(caught.value).endswith(".")


def test_unreachable_given_engine_is_a_sentence(monkeypatch):
    monkeypatch.setenv("CARINA_TEST_DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(eng.EngineError) as caught:
        harness.engine_for_session()
    assert "No Docker engine answers at CARINA_TEST_DOCKER_HOST=unix:///nonexistent/docker.sock" in str(caught.value)


def test_a_failed_docker_command_says_the_engines_reason_not_the_clis_hint(docker_host: str, scratch):
    """The docker CLI ends a failure with ``See 'docker run --help'.``: the sandbox's sentence
    carries the reason above it (a full run once said only the hint when a node's setup failed)."""
    name = scratch.name("twice")
    scratch.containers.append(name)
    eng.docker(docker_host, "create", "--name", name, BUSYBOX_IMAGE, "true")
    with pytest.raises(eng.EngineError) as caught:
        eng.docker(docker_host, "run", "--detach", "--name", name, BUSYBOX_IMAGE, "true")
    said = str(caught.value)
    assert "--help" not in said, said
    assert "already in use" in said, said


@pytest.mark.skipif(os.geteuid() != 0, reason="private engines need root")
@pytest.mark.parametrize("engine_answers", [True, False], ids=["answers", "removal-times-out"])
def test_stop_removes_only_running_containers_and_never_gives_up(monkeypatch, unique_name: str,
                                                                  engine_answers: bool):
    """An engine holding 20,000 containers did not remove them all within the 30 s ``stop_engine``
    gave ``docker rm --force``, and the stop gave up there, the engine still running. Now only the
    running ones are removed through the engine (the rest go with its folder), and a removal that
    fails or times out does not stop the stop."""
    folder = Path(harness.tempfile.mkdtemp(prefix=harness.TEST_DIR_PREFIX, dir="/tmp"))
    (folder / harness.OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        started = eng.start_engine(unique_name, folder / "engine", address_pool="10.242.0.0/16")
        eng.ensure_busybox_image(started.url)
        url = started.url
        running = eng.docker(url, "run", "--detach", "busybox:latest", "sleep", "600").strip()
        created = [eng.docker(url, "create", "busybox:latest", "true").strip() for _ in range(3)]
        assert sorted(eng.container_ids(started)) == sorted([running, *created])
        asked: list[tuple[str, ...]] = []
        real_docker = eng.docker

        def spy(url_: str, *args: str, **kwargs) -> str:
            asked.append(args)
            if args[0] == "rm" and not engine_answers:
                raise eng.EngineError(f"`docker -H {url_} rm --force` did not finish within 30 s.")
            return real_docker(url_, *args, **kwargs)

        monkeypatch.setattr(eng, "docker", spy)
        eng.stop_engine(started)
        removals = [a for a in asked if a[0] == "rm"]
        assert len(removals) == 1 and removals[0][-1] == running and not set(created) & set(removals[0])
        assert eng.leftovers(started) == []
        ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
        assert not [ln for ln in ps.splitlines() if str(folder) in ln and not ln.lstrip().startswith("Z")]
    finally:
        monkeypatch.undo()
        known = eng.load_engine(folder / "engine")
        if known is not None:
            eng.stop_engine(known)
        harness.shutil.rmtree(folder, ignore_errors=True)
