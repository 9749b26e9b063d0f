"""Global options on either side of the command: one value each, wherever typed; two different
values for one option, an empty one or a malformed address is bad usage (exit 2, one sentence),
found before anything is looked up or changed."""

from __future__ import annotations

import pytest

from carina_tui.cli import build_parser, main

COMMANDS = ("cleanup", "clusters", "status")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("before", [True, False])
def test_every_global_option_is_read_before_or_after_the_command(command, before):
    options = ["--host", "unix:///a.sock", "--config", "/c.toml", "--read-only"]
    argv = [*options, command] if before else [command, *options]
    args = build_parser().parse_args(argv)
    assert (args.command, args.host, args.config, args.read_only, args.cluster) == \
        (command, "unix:///a.sock", "/c.toml", True, None)


def test_options_split_around_the_command_are_all_kept():
    args = build_parser().parse_args(["--config", "/c.toml", "-H", "unix:///a.sock", "cleanup", "--read-only",
                                      "--until", "1h"])
    assert (args.host, args.config, args.read_only, args.until) == ("unix:///a.sock", "/c.toml", True, "1h")
    plain = build_parser().parse_args(["status"])
    assert (plain.host, plain.cluster, plain.config, plain.read_only) == (None, None, None, False)


def test_the_same_value_twice_is_not_a_conflict():
    args = build_parser().parse_args(["--cluster", "a", "status", "--cluster", "a", "--read-only", "--read-only"])
    assert args.cluster == "a" and args.read_only


@pytest.mark.parametrize("argv, sentence", [
    (["--host", "unix:///a.sock", "cleanup", "--host", "unix:///b.sock", "--yes"],
     "--host is given twice, as 'unix:///a.sock' before cleanup and 'unix:///b.sock' after it; give it once."),
    (["-H", "unix:///a.sock", "--host", "unix:///b.sock", "cleanup", "--yes"],
     "--host is given twice, as 'unix:///a.sock' and 'unix:///b.sock'; give it once."),
    (["status", "--cluster", "a", "--cluster", "b"], "--cluster is given twice, as 'a' and 'b'; give it once."),
    (["--cluster", "a", "clusters", "--cluster", "b"],
     "--cluster is given twice, as 'a' before clusters and 'b' after it; give it once."),
    (["--config", "/a.toml", "status", "--config", "/b.toml"],
     "--config is given twice, as '/a.toml' before status and '/b.toml' after it; give it once."),
    (["cleanup", "--until", "1h", "--until", "2h", "--yes"], "--until is given twice, as '1h' and '2h'; give it once."),
    (["--host", "unix:///a.sock", "cleanup", "--cluster", "b", "--yes"], "Give either --host or --cluster, not both."),
    (["--host", "", "cleanup", "--yes"],
     "--host is empty; give an engine address such as unix:///var/run/docker.sock or tcp://HOST:2376."),
    (["status", "--cluster", "  "], "--cluster is empty; give a cluster name (see `carina-tui clusters`)."),
    (["--config", "", "clusters"], "--config is empty; give the path of a clusters.toml, or leave --config out."),
    (["--host", "tcp://127.0.0.1:" + "9" * 5000, "clusters"],
     '--host "tcp://127.0.0.1:99999999999999999999999999999999999999999999… (5,016 characters)" is not a valid '
     "address: its port must be a number between 1 and 65535."),
    (["--host", "docker.example.com:2376"],
     '--host "docker.example.com:2376" has no scheme; write it like tcp://203.0.113.10:2376 or '
     "unix:///var/run/docker.sock."),
    (["--read-only", "sandbox", "status"],
     "--read-only cannot be used with `carina-tui sandbox`, which works on this machine's own sandbox; leave it out."),
])
def test_bad_usage_is_one_sentence_and_exit_2(capsys, argv, sentence):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"carina-tui: {sentence}\n"


def _every_parser(parser, path=("carina-tui",)):
    """(the command's words, its parser) for carina-tui and every command and sub-command under it."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_parser(sub, (*path, name))


def test_every_option_of_every_command_says_what_it_does():
    found = {" ".join(path): [a for a in parser._actions if a.option_strings and a.help != "==SUPPRESS=="]
             for path, parser in _every_parser(build_parser(with_sandbox=True))}
    assert {"carina-tui cleanup", "carina-tui clusters", "carina-tui status", "carina-tui sandbox up",
            "carina-tui sandbox status", "carina-tui sandbox down"} <= set(found)
    silent = [f"{path} {'/'.join(a.option_strings)}" for path, actions in found.items() for a in actions
              if not (a.help or "").strip()]
    assert silent == []


@pytest.mark.parametrize("command", COMMANDS)
def test_json_help_says_what_it_prints(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help: compare it unwrapped
    json_help = shown[shown.rindex(" --json ") + len(" --json "):]  # the last: after the usage line
    assert json_help.startswith(("print one JSON object:", "print a JSON list,")), json_help[:80]
