"""``e`` in the console as a person runs it (issue 16): a subprocess in a real terminal (tmux).

The console suspends, the terminal is the container's shell with a real TTY (what is typed
runs there, its size is the terminal's), ``exit`` brings the console back where it was, saying
how the shell ended. Also over ssh:// (a real sshd, ``ssh_lab``), on a sandbox node over TLS, and into the protected agent
``carina-svcd``: asked first, ``n`` does nothing, ``y`` works and is audited. And ``t``: the
stats view draws while it is open; once closed, the idle console writes nothing to its terminal
(the idle-bytes probe of benchmarks/console_startup_idle.py).
"""

from __future__ import annotations

import os
import re
import secrets
import time

import pytest
from tmux_console import Tmux, console_command, filter_containers, step, wait_screen, wait_settled

from carina_tui.core.audit import AuditLog
from carina_tui.core.paths import audit_log_path
from ssh_lab import ALIAS, ssh_home, ssh_lab  # noqa: F401 - fixtures

STEP = 30.0  # a hang bound for each step on a loaded 2-core machine
PROMPT = re.compile(r"^/[^\n]* #$", re.M)  # busybox sh's prompt as root (capture-pane drops the space)


@pytest.fixture
def tmux():
    server = Tmux(f"carina-x-{os.getpid()}-{secrets.token_hex(2)}")
    yield server
    server.kill_server()


def start(tmux: Tmux, args: list[str], shows, size=(120, 32)) -> None:
    tmux.run("new-session", "-d", "-s", "c", "-x", str(size[0]), "-y", str(size[1]), console_command(args))
    seen, text = wait_screen(tmux, "c", shows, 60, step=0.05)
    assert seen is not None, f"the console did not start; the screen:\n{text}"


def answer(text: str, value: str) -> bool:
    """A line of the shell's terminal that is exactly ``value`` (the command's output, not its echo)."""
    return any(line.strip() == value for line in text.splitlines())


def round_trip(tmux: Tmux, name: str, what: str) -> None:
    """In the console: select ``name``, ``e``, run a command, check its output and the TTY's size, exit."""
    filter_containers(tmux, "c", name)
    step(tmux, "c", ["e"], lambda t: "exit returns to the console" in t and PROMPT.search(t),
         f"e opens a shell in {what}")
    step(tmux, "c", ["-l", "echo $((6*7)); stty size"], lambda t: "stty size" in t, "the command is typed")
    # Both commands done: the prompt is back after the 42 (stty prints a moment after echo).
    text = step(tmux, "c", ["Enter"], lambda t: answer(t, "42") and PROMPT.search(t[t.rfind("\n42"):]),
                "the shell prints 42, then stty its size and the prompt comes back")
    assert answer(text, "32 120"), f"the shell's TTY is not the terminal's size (32 x 120):\n{text}"
    tmux.run("resize-window", "-t", "c", "-x", "100", "-y", "30")  # SIGWINCH: the exec is resized
    step(tmux, "c", ["-l", "clear; stty size"], lambda t: "stty size" in t, "stty is typed again")
    text = step(tmux, "c", ["Enter"], lambda t: answer(t, "30 100"), "the shell's TTY follows the terminal's size")
    back = step(tmux, "c", ["-l", "exit"], lambda t: t.rstrip().endswith("exit"), "exit is typed")
    assert "Containers" not in back
    back = step(tmux, "c", ["Enter"], lambda t: "Back from the shell" in t, "exit brings the console back")
    assert "it ended with code 0" in back.replace("\n", " ") or "code 0" in back, back
    assert "Containers" in back and name in back, f"the console is not where it was:\n{back}"


def exec_lines() -> list[dict]:
    return [line for line in AuditLog(audit_log_path()).read() if line["action"] == "container.exec"]


def test_e_opens_a_shell_in_the_container_and_exit_comes_back(docker_host, scratch, tmux):
    name = scratch.run("shell")
    start(tmux, ["--host", docker_host], lambda t: name in t)
    round_trip(tmux, name, name)
    [line] = exec_lines()
    assert (line["target_name"].rsplit("/", 1)[-1], line["outcome"], line["command"]) == (name, "done", "/bin/sh")


def test_e_over_ssh_opens_a_shell_in_the_container_and_exit_comes_back(ssh_lab, ssh_home, scratch, tmux):
    name = scratch.run("far-shell")
    start(tmux, ["--host", f"ssh://{ALIAS}"], lambda t: name in t)
    round_trip(tmux, name, f"{name} over ssh")  # typed, printed and resized through a dial-stdio channel
    assert exec_lines()[-1]["outcome"] == "done"
    console = int(tmux.run("display-message", "-p", "-t", "c", "#{pane_pid}"))  # exec env python: the console
    assert ssh_lab.established(console) == 1, "the shell went over the console's one SSH connection"


def test_e_on_a_sandbox_node_over_tls_and_into_the_protected_agent(sandbox_cluster, tmux):
    state = sandbox_cluster
    start(tmux, ["--config", state.config_file, "--cluster", state.name],
          lambda t: len(re.findall(r"carina-svcd", t)) >= 2)
    # wordpress runs on the second node, reached over TLS
    node = state.nodes[1].name
    round_trip(tmux, "wordpress", f"wordpress on {node}")
    assert exec_lines()[-1]["target_name"] == f"{node}/wordpress"
    # the protected agent: asked, n does nothing
    step(tmux, "c", ["Escape"], lambda t: "filter: wordpress" not in t, "escape clears the filter")
    filter_containers(tmux, "c", f"{node} carina-svcd")
    before = len(exec_lines())
    step(tmux, "c", ["e"], lambda t: "Open a shell in the protected container" in t and 'name "carina-svcd"' in t,
         "e asks first, naming the container and the rule")
    step(tmux, "c", ["n"], lambda t: "Open a shell" not in t, "n closes the question")
    assert len(exec_lines()) == before, "n must not open anything"
    # y opens it, audited with the command and the rule
    step(tmux, "c", ["e"], lambda t: "Open a shell in the protected container" in t, "e asks again")
    step(tmux, "c", ["y"], lambda t: "exit returns to the console" in t and PROMPT.search(t), "y opens the shell")
    step(tmux, "c", ["-l", "echo $((6*7))"], lambda t: "echo $((6*7))" in t, "the command is typed")
    step(tmux, "c", ["Enter"], lambda t: answer(t, "42"), "the agent's shell prints 42")
    step(tmux, "c", ["-l", "exit"], lambda t: t.rstrip().endswith("exit"), "exit is typed")
    step(tmux, "c", ["Enter"], lambda t: "Back from the shell" in t, "exit brings the console back")
    done = exec_lines()[-1]
    assert done["target_name"] == f"{node}/carina-svcd" and done["outcome"] == "done"
    assert done["command"] == "/bin/sh" and 'name "carina-svcd"' in done["rule"] and done["user"]


def written_while_idle(tmux: Tmux, path, seconds: float) -> int:
    """Bytes the console writes to its terminal in ``seconds`` (``tmux pipe-pane``, as the benchmark)."""
    tmux.record("c", path)
    time.sleep(0.2)  # let the pipe open; its own start writes nothing
    size = path.stat().st_size if path.exists() else 0
    time.sleep(seconds)
    written = (path.stat().st_size if path.exists() else 0) - size
    tmux.run("pipe-pane", "-t", "c")  # closes the pipe
    return written


def test_t_draws_while_open_and_once_closed_the_console_is_idle_again(docker_host, scratch, tmux, tmp_path):
    name = scratch.run("busy", "sh", "-c", "while true; do :; done")
    start(tmux, ["--host", docker_host], lambda t: name in t)
    filter_containers(tmux, "c", name)
    step(tmux, "c", ["t"], lambda t: re.search(r"CPU \d+\.\d%", t), "t shows the CPU of the busy container")
    assert written_while_idle(tmux, tmp_path / "open.out", 2.5) > 0, "the stats view draws as readings come"
    step(tmux, "c", ["t"], lambda t: "Stats of" not in t, "t closes the stats view")
    wait_settled(tmux, "c")
    assert written_while_idle(tmux, tmp_path / "closed.out", 3.0) == 0


def test_e_runs_the_command_the_config_names_for_the_image(docker_host, scratch, tmux, tmp_path):
    name = scratch.run("configured")
    config = tmp_path / "clusters.toml"
    config.write_text('[exec]\n"busybox" = "sh -c \'echo configured-$((6*7)); exec sh\'"\n')
    start(tmux, ["--config", str(config), "--host", docker_host], lambda t: name in t)
    filter_containers(tmux, "c", name)
    text = step(tmux, "c", ["e"], lambda t: answer(t, "configured-42") and PROMPT.search(t),
                "e runs the configured command")
    assert "carina-tui: sh -c echo configured-$((6*7)); exec sh in " in text
    step(tmux, "c", ["-l", "exit"], lambda t: t.rstrip().endswith("exit"), "exit is typed")
    step(tmux, "c", ["Enter"], lambda t: "Back from the shell" in t, "exit brings the console back")
    assert exec_lines()[-1]["command"] == "sh -c echo configured-$((6*7)); exec sh"
