"""A shell in a container and its live stats, against the real engine (issue 16).

Through the guard as the console does it: a TTY exec on a hijacked connection carries what is
typed and what the shell prints; the size is the terminal's; a protected container is refused
unless the user confirmed the very rule that protects it, then audited with the command;
read-only refuses even then. The stats stream gives samples, and once closed its thread ends
and nothing more is read; it ends by itself when the container stops.
"""

from __future__ import annotations

import threading
import time

import pytest

from carina_tui.core.audit import AuditLog
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import NotFound, Refused
from carina_tui.core.paths import audit_log_path
from carina_tui.core.rules import Rule
from carina_tui.services.session import Session

BOUND = 20.0  # a hang bound for one read on a loaded machine


def session_for(host: str, **kwargs) -> Session:
    return Session(ClusterSpec("test", "cli", (host,)), **kwargs)


@pytest.fixture
def session(docker_host):
    """A session on the test engine, closed at the end."""
    opened = session_for(docker_host)
    yield opened
    opened.close()


def container(session: Session, name: str):
    return next(c for gw in session.gateways.values() for c in gw.containers() if c.name == name)


def until(shell, text: bytes) -> bytes:
    """What the shell prints until ``text`` shows (or it ends, or the bound passes)."""
    seen = b""
    deadline = time.monotonic() + BOUND
    while text not in seen and time.monotonic() < deadline:
        data = shell.read()
        if not data:
            break
        seen += data
    return seen


def exec_lines(tag: str) -> list[dict]:
    return [line for line in AuditLog(audit_log_path()).read()
            if line["action"] == "container.exec" and tag in line["target_name"]]


def test_a_shell_runs_what_is_typed_with_the_terminals_size_and_its_exit_code(session, scratch):
    c = container(session, scratch.run("box"))
    with session.guard.open_shell(c, None, 31, 97) as shell:  # busybox has no bash: /bin/sh
        shell.write(b"echo $((6*7)); stty size; exit 3\n")
        out = until(shell, b"97")
        assert b"\r\n42\r\n" in out and b"31 97" in out, out
        until(shell, b"\x00")  # what is left, until the engine closes the connection as the shell ends
        assert shell.read() == b""
        assert shell.exit_code() == 3
    [line] = exec_lines(scratch.tag)
    assert (line["outcome"], line["command"], "rule" in line) == ("done", "/bin/sh", False)
    assert line["user"] and line["time"]


def test_the_configured_command_runs_instead_of_the_shell(session, scratch):
    c = container(session, scratch.run("box"))
    with session.guard.open_shell(c, ("sh", "-c", "echo configured; cat"), 24, 80) as shell:
        assert b"configured" in until(shell, b"configured")
        shell.write(b"typed\n")
        assert b"typed" in until(shell, b"typed")
    assert exec_lines(scratch.tag)[-1]["command"] == "sh -c echo configured; cat"


def test_a_protected_container_needs_the_rule_confirmed_and_is_audited(session, scratch):
    c = container(session, scratch.run("agent", labels={"carina.protected": "true"}))
    rule = session.guard.classify(c)
    assert rule is not None and "carina.protected=true" in rule.describe()
    with pytest.raises(Refused) as err:
        session.guard.open_shell(c, None, 24, 80)
    assert c.name in str(err.value) and "carina.protected=true" in str(err.value)
    with pytest.raises(Refused):  # a rule the user was not shown is no confirmation
        session.guard.open_shell(c, None, 24, 80, confirmed=Rule("name", c.name))
    assert session.guard.would_refuse("container.exec", c) is not None
    assert session.guard.would_refuse("container.exec", c, confirmed=rule) is None
    with session.guard.open_shell(c, None, 24, 80, confirmed=rule) as shell:
        shell.write(b"echo inside-$((40+2)); exit\n")
        assert b"inside-42" in until(shell, b"inside-42")
    refused, refused_again, done = exec_lines(scratch.tag)
    assert [refused["outcome"], refused_again["outcome"], done["outcome"]] == ["refused", "refused", "done"]
    assert done["rule"] == rule.describe() and done["command"] == "/bin/sh"
    assert "command" not in refused  # nothing was run


def test_read_only_refuses_a_shell_even_confirmed(docker_host, scratch):
    session = session_for(docker_host, read_only=True)
    try:
        c = container(session, scratch.run("agent", labels={"carina.protected": "true"}))
        with pytest.raises(Refused) as err:
            session.guard.open_shell(c, None, 24, 80, confirmed=session.guard.classify(c))
        assert "read-only" in str(err.value)
        [line] = exec_lines(scratch.tag)
        assert (line["outcome"], line["rule"]) == ("refused", "read-only")
    finally:
        session.close()


def test_a_container_with_no_shell_is_said_with_what_to_do(session, scratch):
    c = container(session, scratch.run("box"))
    gateway = session.gateways[c.endpoint]
    assert gateway.shell_for(c.id) == "/bin/sh"
    scratch.engine.docker("exec", c.name, "rm", "/bin/sh")  # busybox: the other applets stay
    with pytest.raises(NotFound) as err:
        session.guard.open_shell(c, None, 24, 80)
    assert "neither /bin/bash nor /bin/sh" in str(err.value) and "[exec]" in str(err.value)
    assert exec_lines(scratch.tag)[-1]["outcome"] == "failed"


def follow_stats(gateway, cid):
    """The stats stream on a thread: (the thread, the samples, the stream once open)."""
    got, held = [], []
    thread = threading.Thread(target=lambda: got.extend(gateway.stats(cid, on_stream=held.append)),
                              name="carina-stats:test", daemon=True)
    thread.start()
    return thread, got, held


def wait(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_stats_stream_gives_samples_and_closing_ends_it_with_nothing_read_after(session, scratch):
    c = container(session, scratch.run("busy", "sh", "-c", "while true; do :; done"))
    thread, got, held = follow_stats(session.gateways[c.endpoint], c.id)
    wait(lambda: len(got) >= 3, "three samples")
    assert any(s.cpu_percent for s in got[1:]), got  # it spins: some CPU
    assert got[-1].mem_usage > 0 and got[-1].mem_limit >= got[-1].mem_usage
    stream = held[0]
    stream.close()
    thread.join(BOUND)
    assert not thread.is_alive()
    read = stream.received
    time.sleep(2.5)  # the engine would have sent two more samples by now
    assert stream.received == read


def test_stats_stream_ends_by_itself_when_the_container_stops(session, scratch):
    name = scratch.run("short")
    c = container(session, name)
    thread, got, _ = follow_stats(session.gateways[c.endpoint], c.id)
    wait(lambda: got, "a first sample")
    scratch.engine.docker("kill", name)
    thread.join(BOUND)
    assert not thread.is_alive(), "the stream went on after the container stopped"
