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
import time

import pytest

from carina_tui.core.errors import SSHProblem
from carina_tui.gateways.docker_gateway import DockerGateway
from harness import carina
from ssh_lab import ALIAS, SSHLab

URL = f"ssh://{ALIAS}"


@pytest.fixture(scope="module")
def lab(docker_host, tmp_path_factory):
    box = SSHLab(tmp_path_factory.mktemp("sshlab"), docker_host)
    box.start()
    yield box
    box.stop()


@pytest.fixture
def ssh_home(lab, isolated_environment, monkeypatch):
    """The test's ~/.ssh as a user of the lab has it; no agent unless a test starts one."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return lab.client_home(isolated_environment)


def problem_of(url: str = URL) -> str:
    gateway = DockerGateway(url, timeout=10)
    try:
        with pytest.raises(SSHProblem) as caught:
            gateway.info()
    finally:
        gateway.close()
    return str(caught.value)


def test_the_alias_reaches_the_engine_on_its_configured_port(lab, ssh_home, scratch):
    name = scratch.run("over-ssh")
    gateway = DockerGateway(URL)
    try:
        assert gateway.info().api_version
        assert name in {c.name for c in gateway.containers()}
    finally:
        gateway.close()


def test_status_host_ssh_counts_the_engines_containers(lab, ssh_home, scratch, test_engine):
    scratch.run("status")
    out = carina("status", "--host", URL, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["engines"][0]["reachable"] is True and doc["engines"][0]["endpoint"] == URL
    assert doc["containers"]["total"] == len(test_engine.ids())
    assert doc["containers"]["running"] == len(test_engine.ids(all=False)) >= 1
    assert "Traceback" not in out.stderr


def test_an_unknown_host_key_is_refused_with_its_sentence(lab, ssh_home):
    (ssh_home / "known_hosts").write_text("")
    text = problem_of()
    assert "is not in known_hosts" in text and "SHA256:" in text, text
    assert "start dockerd" not in text


def test_a_changed_host_key_is_refused_with_its_sentence(lab, ssh_home):
    (ssh_home / "known_hosts").write_text(lab.known_hosts_line(lab.other_host_key))
    text = problem_of()
    assert "has CHANGED" in text and "ssh-keygen -R" in text, text


def test_a_wrong_key_is_its_own_sentence(lab, ssh_home):
    (ssh_home / "id_lab").write_bytes(lab.other_key.read_bytes())
    text = problem_of()
    assert "refused the SSH login of" in text and "authorized_keys" in text, text


def test_a_stopped_sshd_is_its_own_sentence(lab, ssh_home):
    lab.stop()
    try:
        text = problem_of()
    finally:
        lab.start()
    assert "Nothing accepts SSH connections" in text and "sshd is not running" in text, text

