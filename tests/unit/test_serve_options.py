"""``carina-tui serve``: where it listens, what a bad --port or --host says, the console command
each browser connection gets (read-only unless --allow-changes, through the session's guard), and
the requests it refuses (another host's name: DNS rebinding)."""

from __future__ import annotations

import socket

import pytest

from carina_tui.cli import build_parser, main
from carina_tui.commands.serve_command import allowed_host, console_command, listen_address, page_text
from carina_tui.services.targets import open_session


def serve(capsys, *argv: str) -> tuple[int, str]:
    code = main(["--host", "unix:///nowhere/docker.sock", "serve", *argv])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("argv, sentence", [
    (["--port", "abc"], '--port "abc" is not a port; give a number between 1 and 65535, such as 8000.'),
    (["--port", "0"], '--port "0" is not a port; give a number between 1 and 65535, such as 8000.'),
    (["--port", "70000"], '--port "70000" is not a port; give a number between 1 and 65535, such as 8000.'),
    (["--host", "bad_name!"], '--host "bad_name!" is not an address to listen on; give an IP address of this '
                              "machine (127.0.0.1, ::1, 0.0.0.0) or its name."),
    (["--host", " "], "--host is empty; give an address of this machine to listen on, such as 127.0.0.1."),
    (["--host", "tcp://10.0.0.5:2376"], '--host after serve is the address to listen on, not an engine: '
                                        '"tcp://10.0.0.5:2376" is an engine address. Name the engine before the '
                                        "command: carina-tui --host tcp://10.0.0.5:2376 serve."),
    (["--host", "192.0.2.1"], "Could not listen on 192.0.2.1:8000: 192.0.2.1 is not an address of this machine; "
                              "give one of its own (127.0.0.1 for this machine only)."),
    (["--read-only", "--allow-changes"], "Give --read-only or --allow-changes, not both."),
])
def test_bad_listen_options_are_one_sentence(capsys, argv, sentence):
    code, err = serve(capsys, *argv)
    assert (code, err) == (1, f"carina-tui: {sentence}")


def test_a_port_in_use_is_a_sentence(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = serve(capsys, "--port", str(port))
    assert code == 1
    assert err == (f"carina-tui: Could not listen on 127.0.0.1:{port}: something else listens on port {port}; "
                   "choose another --port.")


def test_a_listen_address_before_the_command_says_where_it_goes(capsys):
    assert main(["--host", "127.0.0.1", "serve"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "the address to listen on goes after the command: carina-tui serve --host ADDRESS.")


def test_loopback_and_port_8000_unless_told():
    assert listen_address(None, None) == ("127.0.0.1", 8000)
    assert listen_address("::1", "8080") == ("::1", 8080)
    assert listen_address("[::1]", 8080) == ("::1", 8080)
    args = build_parser().parse_args(["serve"])
    assert (args.listen_host, args.port, args.allow_changes, args.host) == (None, None, False, None)


def _console(argv: list[str]):
    """The session the console that ``serve ARGV`` starts per connection would open."""
    command = console_command(build_parser().parse_args(argv))
    assert command[1:3] == ["-m", "carina_tui"]
    session, _config = open_session(build_parser().parse_args(command[3:]))
    return command, session


def test_the_served_console_is_read_only_through_its_guard_unless_changes_are_allowed(tmp_path):
    command, session = _console(["--host", "unix:///a.sock", "serve"])
    assert command[3:] == ["--host", "unix:///a.sock", "--read-only"]
    assert session.read_only and session.guard.read_only
    session.close()
    command, session = _console(["--host", "unix:///a.sock", "serve", "--allow-changes"])
    assert "--read-only" not in command and not session.guard.read_only
    session.close()
    config = tmp_path / "clusters.toml"
    config.write_text('[clusters.frozen]\nendpoints = ["unix:///a.sock"]\nread_only = true\n')
    command, session = _console(["--config", str(config), "serve", "--cluster", "frozen", "--allow-changes"])
    assert command[3:] == ["--cluster", "frozen", "--config", str(config)]
    assert session.guard.read_only, "a cluster the config keeps read-only stays so, served or not"
    session.close()


@pytest.mark.parametrize("header, listen, ok", [
    ("127.0.0.1:8000", "127.0.0.1", True),
    ("localhost:8000", "127.0.0.1", True),
    ("[::1]:8000", "::1", True),
    ("192.0.2.7:8000", "0.0.0.0", True),
    ("ops-box:8000", "ops-box", True),
    ("OPS-BOX.:8000", "ops-box", True),
    ("evil.example:8000", "127.0.0.1", False),
    ("evil.example:8000", "0.0.0.0", False),
    ("127.0.0.1:9999", "127.0.0.1", False),
    ("127.0.0.1", "127.0.0.1", False),
    ("", "127.0.0.1", False),
    ("127.0.0.1:x", "127.0.0.1", False),
])
def test_only_requests_that_name_this_server_are_answered(header, listen, ok):
    assert allowed_host(header, listen, 8000) is ok


def test_the_page_says_read_only_and_asks_no_other_host():
    html = ('<html>\n  <head>\n    <link rel="stylesheet" href="/static/css/xterm.css" />\n    <link\n'
            '      rel="stylesheet"\n      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"\n    />\n')
    out = page_text(html, "carina-tui · prod · read-only (served)")
    assert "<title>carina-tui · prod · read-only (served)</title>" in out
    assert "googleapis" not in out and "xterm.css" in out
