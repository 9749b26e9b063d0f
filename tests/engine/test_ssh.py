"""Engines behind ssh://: a real sshd on loopback (``ssh_lab``) in front of the test engine.

The user's side is a test ``~/.ssh`` (HOME is the test's own): an alias with
HostName, Port, User and IdentityFile, and a known_hosts line for the lab's
host key. What the console does over ssh:// is checked against what the engine
holds; each way SSH can fail has its own sentence.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from carina_tui.core.errors import SSHProblem
from carina_tui.gateways import ssh
from carina_tui.gateways.docker_gateway import DockerGateway
from harness import carina, write_config
from ssh_lab import ALIAS, SSHLab, cut_sessions, ssh_home, ssh_lab  # noqa: F401 - fixtures

URL = f"ssh://{ALIAS}"


def problem_of(url: str = URL) -> str:
    gateway = DockerGateway(url, timeout=10)
    try:
        with pytest.raises(SSHProblem) as caught:
            gateway.info()
    finally:
        gateway.close()
    return str(caught.value)


@pytest.fixture
def gateway(ssh_home):
    gw = DockerGateway(URL)
    yield gw
    gw.close()


def test_the_alias_reaches_the_engine_on_its_configured_port(ssh_lab, gateway, scratch):
    # docker-py alone would have tried port 22: the alias's Port is the lab's high port.
    assert ssh.resolve(URL).port == ssh_lab.port != 22
    name = scratch.run("over-ssh")
    assert gateway.info().api_version
    assert name in {c.name for c in gateway.containers()}


def status_json(*args: str, env: dict | None = None) -> dict:
    out = carina("status", *args, "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_counts(doc: dict, test_engine, endpoint: str) -> None:
    assert [(e["endpoint"], e["reachable"], e["error"]) for e in doc["engines"]] == [(endpoint, True, "")]
    assert doc["containers"]["total"] == len(test_engine.ids())
    assert doc["containers"]["running"] == len(test_engine.ids(all=False)) >= 1


def test_status_host_ssh_counts_the_engines_containers(ssh_home, scratch, test_engine):
    scratch.run("status")
    assert_counts(status_json("--host", URL), test_engine, URL)


def test_docker_host_ssh_is_used(ssh_home, scratch, test_engine):
    scratch.run("env")
    assert_counts(status_json(env={"DOCKER_HOST": URL}), test_engine, URL)


def test_a_docker_context_with_ssh(ssh_home, scratch, test_engine):
    scratch.run("context")
    subprocess.run(["docker", "context", "create", "over-ssh", "--docker", f"host={URL}"], check=True,
                   capture_output=True)
    assert_counts(status_json(env={"DOCKER_CONTEXT": "over-ssh"}), test_engine, URL)


def test_clusters_toml_endpoints_with_ssh(ssh_home, scratch, test_engine, tmp_path):
    scratch.run("config")
    config = write_config(f'[clusters.far]\nendpoints = ["{URL}"]\n', tmp_path / "clusters.toml")
    assert_counts(status_json("--config", str(config), "--cluster", "far"), test_engine, URL)


def test_events_arrive_over_ssh_and_closing_the_stream_ends_the_reader(ssh_lab, gateway, scratch):
    seen: list = []
    streams: list = []
    arrived = threading.Event()

    def follow():
        for event in gateway.events(on_stream=streams.append):
            seen.append(event)
            if event.name == name and event.action == "start":
                arrived.set()

    name = scratch.name("evented")
    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    for _ in range(200):  # the engine sends what happens once the stream is open
        if streams:
            break
        threading.Event().wait(0.05)
    scratch.run("evented")
    assert arrived.wait(20), f"no start event for {name} over ssh: {seen}"
    streams[0].close()
    reader.join(10)
    assert not reader.is_alive(), "closing the stream from another thread ends the reading"


def test_logs_follow_over_ssh(gateway, scratch, test_engine):
    name = scratch.run("talker", "sh", "-c", "echo one; echo two; while [ ! -f /tmp/go ]; do sleep 0.1; done; "
                       "echo three; sleep 3600")
    cid = test_engine.ids(f"name=^/{name}$")[0]
    streams: list = []
    lines = gateway.logs(cid, tail=10, follow=True, on_stream=streams.append)
    assert [next(lines), next(lines)] == ["one", "two"]
    test_engine.docker("exec", name, "touch", "/tmp/go")
    assert next(lines) == "three"
    streams[0].close()
    assert list(lines) == []


def test_the_guards_actions_and_exec_over_ssh(ssh_home, scratch, test_engine):
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.services.session import Session

    name = scratch.run("acted", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")
    session = Session(ClusterSpec("far", "cli", (URL,)))
    try:
        target = next(c for c in session.snapshot().containers if c.name == name)
        assert session.guard.exec_run(target, ["echo", "from", "afar"]) == (0, "from afar\n")
        session.guard.stop(target)
        assert json.loads(test_engine.docker("inspect", name))[0]["State"]["Status"] == "exited"
    finally:
        session.close()


def test_one_ssh_connection_carries_every_call(ssh_lab, gateway, scratch):
    scratch.run("busy")
    streams: list = []
    follower = threading.Thread(target=lambda: list(gateway.events(on_stream=streams.append)), daemon=True)
    follower.start()
    calls = [threading.Thread(target=fn) for fn in (gateway.info, gateway.containers, gateway.networks,
                                                    gateway.images) * 3]
    for t in calls:
        t.start()
    for t in calls:
        t.join(30)
    assert ssh_lab.established(os.getpid()) == 1
    for _ in range(200):  # on a loaded machine the follower may still be opening its stream
        if streams:
            break
        threading.Event().wait(0.05)
    assert streams, "the event stream opened"
    streams[0].close()
    follower.join(10)


def test_a_lost_ssh_connection_is_said_and_the_next_call_connects_again(ssh_lab, gateway, scratch):
    name = scratch.run("again")
    assert gateway.info().name
    cut_sessions(ssh_lab)
    with pytest.raises(SSHProblem) as caught:
        for _ in range(50):  # until the client has seen its connection close
            gateway.info()
            threading.Event().wait(0.1)
    assert "the SSH connection to carina-engine" in str(caught.value) and "was lost" in str(caught.value)
    assert name in {c.name for c in gateway.containers()}
    assert ssh_lab.established(os.getpid()) == 1


def test_a_closed_gateway_opens_no_new_ssh_connection(ssh_lab, ssh_home, scratch):
    # A worker that outlives its console (a cluster switch, quit) calls a gateway the session has
    # closed: that is a sentence, and no SSH connection is opened that nobody would close.
    from carina_tui.core.errors import EngineUnreachable

    scratch.run("late")
    gw = DockerGateway(URL)
    assert gw.containers()
    assert ssh_lab.established(os.getpid()) == 1
    gw.close()
    with pytest.raises(EngineUnreachable) as caught:
        gw.info()
    assert str(caught.value) == f"The console has closed its connection to {URL}."
    assert ssh_lab.established(os.getpid()) == 0


def test_proxyjump_goes_through_the_jump_host(ssh_lab, ssh_home, scratch):
    name = scratch.run("jumped")
    with open(ssh_home / "config", "a") as config:
        config.write(f"Host behind\n  HostName 127.0.0.1\n  Port {ssh_lab.port}\n  User {ssh_lab.user}\n"
                     f"  IdentityFile ~/.ssh/id_lab\n  ProxyJump {ALIAS}\n")
    gw = DockerGateway("ssh://behind")
    try:
        assert name in {c.name for c in gw.containers()}
        assert len(ssh.link_of(gw.api)._clients) == 2, "a login on the jump host, then one through it"
    finally:
        gw.close()


def test_proxycommand_carries_the_connection(ssh_lab, ssh_home, scratch):
    name = scratch.run("proxied")
    # The real ssh as the ProxyCommand (its own files named outright: it reads the passwd HOME, not $HOME).
    relay = (f"ssh -F none -i {ssh_home}/id_lab -o UserKnownHostsFile={ssh_home}/known_hosts -o BatchMode=yes "
             f"-p {ssh_lab.port} -W %h:%p {ssh_lab.user}@127.0.0.1")
    with open(ssh_home / "config", "a") as config:
        config.write(f"Host proxied\n  HostName 127.0.0.1\n  Port {ssh_lab.port}\n  User {ssh_lab.user}\n"
                     f"  IdentityFile ~/.ssh/id_lab\n  ProxyCommand {relay}\n")
    gw = DockerGateway("ssh://proxied")
    try:
        assert name in {c.name for c in gw.containers()}
        assert ssh_lab.established(os.getpid()) == 0, "the ProxyCommand's ssh holds the TCP connection, not we"
    finally:
        gw.close()


def test_keys_from_the_agent(ssh_lab, ssh_home, scratch, tmp_path, monkeypatch):
    name = scratch.run("agent")
    (ssh_home / "id_lab").unlink()  # the only key is the agent's
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            threading.Event().wait(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        subprocess.run(["ssh-add", str(ssh_lab.user_key)], check=True, capture_output=True)
        gw = DockerGateway(URL)
        try:
            assert name in {c.name for c in gw.containers()}
        finally:
            gw.close()
    finally:
        agent.terminate()
        agent.wait(10)


def test_an_unknown_host_key_is_refused_with_its_sentence(ssh_home):
    (ssh_home / "known_hosts").write_text("")
    text = problem_of()
    assert "is not in known_hosts, so carina-tui does not trust it" in text and "SHA256:" in text, text
    assert f"`ssh {ALIAS}` once" in text and "start dockerd" not in text


def test_a_changed_host_key_is_refused_with_its_sentence(ssh_lab, ssh_home):
    (ssh_home / "known_hosts").write_text(ssh_lab.known_hosts_line(ssh_lab.other_host_key))
    text = problem_of()
    assert "has CHANGED since known_hosts recorded it" in text and "ssh-keygen -R" in text, text


def test_a_wrong_key_is_its_own_sentence(ssh_lab, ssh_home):
    (ssh_home / "id_lab").write_bytes(ssh_lab.other_key.read_bytes())
    text = problem_of()
    assert text.startswith(f"The SSH login of {ssh_lab.user} at carina-engine") and "was refused" in text, text
    assert "authorized_keys" in text


def test_a_key_with_a_passphrase_and_no_agent_is_its_own_sentence(ssh_home, tmp_path):
    locked = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret words", "-f", str(locked)], check=True)
    (ssh_home / "id_lab").write_bytes(locked.read_bytes())
    text = problem_of()
    assert "is protected by a passphrase: add it to the agent (ssh-add KEYFILE)" in text, text


def test_a_stopped_sshd_is_its_own_sentence_on_the_command_line(ssh_lab, ssh_home):
    ssh_lab.stop()
    try:
        console = carina("--host", URL)
        status = carina("status", "--host", URL, "--json")
    finally:
        ssh_lab.start()
    said = "Nothing accepts SSH connections at carina-engine"
    assert console.returncode == 1 and said in console.stderr and "sshd is not running there" in console.stderr
    assert "Traceback" not in console.stderr + status.stderr
    assert said in json.loads(status.stdout)["engines"][0]["error"]


def test_an_engine_down_behind_a_working_sshd_says_what_dial_stdio_said(ssh_home, tmp_path):
    dead = SSHLab(tmp_path, f"unix://{tmp_path}/no-engine.sock")
    dead.start()
    try:
        dead.client_home(ssh_home.parent)
        text = problem_of()
    finally:
        dead.stop()
    assert "SSH to carina-engine" in text and "`docker system dial-stdio` there failed" in text, text
    assert "no-engine.sock: connect: no such file or directory" in text, text


def test_without_paramiko_the_sentence_says_so(ssh_home, monkeypatch):
    monkeypatch.setattr(ssh, "_paramiko", lambda: None)  # the package missing: the engine cannot do that
    text = problem_of()
    assert "needs the paramiko package, which is not installed" in text, text
