"""A shell and live stats over ssh:// (issues 16 and 17): a real sshd on loopback (``ssh_lab``) in
front of the test engine, each stream a channel of the engine's one SSH connection running
``docker system dial-stdio``.

Stats give real samples and closing the stream closes its channel at once; a hijacked exec
carries what is typed and what the shell prints, is resized and reports its exit code; a link
that is gone is said (the lost connection, then the stopped sshd), never a hang or a traceback.
"""

from __future__ import annotations

import os
import time

import pytest

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import CarinaError, SSHProblem
from carina_tui.gateways import ssh
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.services.session import Session
from ssh_lab import ALIAS, cut_sessions, ssh_home, ssh_lab  # noqa: F401 - fixtures
from test_exec_stats import BOUND, container, follow_stats, until, wait

URL = f"ssh://{ALIAS}"


@pytest.fixture
def session(ssh_home):
    """A session on the engine behind the lab's sshd, closed at the end."""
    opened = Session(ClusterSpec("far", "cli", (URL,)))
    yield opened
    opened.close()


def open_channels(gateway) -> int:
    """The channels open on the gateway's SSH connection (the pool's and ours)."""
    transport = ssh.link_of(gateway.api)._clients[-1].get_transport()
    return sum(1 for chan in transport._channels.values() if not chan.closed)


def test_stats_over_ssh_give_samples_and_closing_closes_the_channel(ssh_lab, session, scratch):
    c = container(session, scratch.run("busy", "sh", "-c", "while true; do :; done"))
    gateway = session.gateways[c.endpoint]
    before = open_channels(gateway)
    thread, got, held = follow_stats(gateway, c.id)
    wait(lambda: len(got) >= 3, "three samples over ssh")
    assert any(s.cpu_percent for s in got[1:]), got  # it spins: some CPU
    last = got[-1]
    assert 0 < last.mem_usage <= last.mem_limit and last.net_rx >= 0 and last.at > time.time() - 60, last
    assert open_channels(gateway) == before + 1, "the stream is one more channel of the same connection"
    assert ssh_lab.established(os.getpid()) == 1

    stream = held[0]
    closed_at = time.monotonic()
    stream.close()
    thread.join(BOUND)
    assert not thread.is_alive() and time.monotonic() - closed_at < 2, "closing ends the read at once"
    assert stream._sock.chan.closed, "closing the stream closed its channel"
    read = stream.received
    time.sleep(2.5)  # the engine would have sent two more samples by now
    assert stream.received == read
    wait(lambda: open_channels(gateway) == before, "the channel is gone from the connection")


def test_a_shell_over_ssh_runs_what_is_typed_is_resized_and_says_its_exit_code(session, scratch):
    c = container(session, scratch.run("box"))
    with session.guard.open_shell(c, None, 31, 97) as shell:  # busybox: /bin/sh
        assert isinstance(shell._sock, ssh._Pipe), "the hijacked exec is a channel of the SSH connection"
        shell.write(b"echo hi-$((40+2)); stty size\n")
        out = until(shell, b"31 97")
        assert b"\r\nhi-42\r\n" in out and b"31 97" in out, out
        shell.resize(40, 120)
        shell.write(b"stty size; exit 5\n")
        assert b"40 120" in until(shell, b"40 120")
        until(shell, b"\x00")  # what is left, until the engine closes the connection as the shell ends
        assert shell.read() == b""
        assert shell.exit_code() == 5


def test_a_shell_over_ssh_is_selectable_and_closing_it_ends_it(session, scratch):
    import select

    c = container(session, scratch.run("box"))
    shell = session.guard.open_shell(c, ("sh", "-c", "echo ready; cat"), 24, 80)
    try:
        seen = shell.buffered()
        while b"ready" not in seen:  # as the console's copy loop reads it: select, then read
            assert select.select([shell], [], [], BOUND)[0], f"nothing to read after {seen!r}"
            seen += shell.read() + shell.buffered()
        shell.write(b"typed\n")
        # The terminal echoes the line, then cat prints it: read both, so nothing is left unread.
        assert b"typed\r\ntyped\r\n" in until(shell, b"typed\r\ntyped\r\n")
    finally:
        shell.close()
    assert shell._sock.chan.closed and shell.read() == b"", "once closed, the shell gives nothing more"


def test_stats_when_the_ssh_link_is_gone_say_so_without_hanging(ssh_lab, ssh_home, scratch):
    name = scratch.run("box")
    gateway = DockerGateway(URL)  # alone on the connection: no event follower connects again meanwhile
    try:
        cid = next(c.id for c in gateway.containers() if c.name == name)
        link = ssh.link_of(gateway.api)
        cut_sessions(ssh_lab)  # the host's side ends the connection ...
        ssh_lab.stop()  # ... and nothing accepts a new one
        try:
            wait(lambda: not link.alive, "the client sees its SSH connection close")
            said = []
            for _ in range(2):  # the connection was lost; then no sshd accepts the next one
                began = time.monotonic()
                with pytest.raises(CarinaError) as caught:
                    list(gateway.stats(cid))
                assert time.monotonic() - began < BOUND
                assert isinstance(caught.value, SSHProblem), caught.value
                said.append(str(caught.value))
        finally:
            ssh_lab.start()
        assert said[0] == (f"Could not read the stats of {name}: the SSH connection to {link.route} was lost; "
                           "carina-tui connects again on the next call."), said
        assert "Nothing accepts SSH connections at carina-engine" in said[1] and "sshd is not running" in said[1], said

        thread, got, held = follow_stats(gateway, cid)  # sshd back: the next stats connect again
        wait(lambda: got, "a sample once sshd is back")
        held[0].close()
        thread.join(BOUND)
        assert not thread.is_alive()
    finally:
        gateway.close()


def test_stats_end_at_once_when_the_ssh_link_drops_midway_and_the_next_call_says_why(ssh_lab, ssh_home, scratch):
    name = scratch.run("busy", "sh", "-c", "while true; do :; done")
    gateway = DockerGateway(URL)
    try:
        cid = next(c.id for c in gateway.containers() if c.name == name)
        thread, got, held = follow_stats(gateway, cid)
        wait(lambda: len(got) >= 2, "two samples over ssh")
        cut_sessions(ssh_lab)  # the host's side ends the connection under the open stream
        thread.join(BOUND)
        assert not thread.is_alive(), "the stream ends when its SSH connection does, not at a keepalive"
        with pytest.raises(CarinaError) as caught:  # what the stats view asks next: why it ended
            for _ in range(50):
                gateway.inspect_container(cid)
                time.sleep(0.1)
        assert "the SSH connection to" in str(caught.value) and "was lost" in str(caught.value), caught.value
        assert name in {c.name for c in gateway.containers()}, "the next call connects again"
    finally:
        gateway.close()
