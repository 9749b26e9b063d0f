"""The command line keeps its safety promises on a real engine, run as a user runs it (a subprocess):

* global options are obeyed before or after the command (``--read-only cleanup --yes`` removed
  everything; ``--host URL cleanup`` cleaned DOCKER_HOST's engine);
* an engine that belongs to a configured cluster keeps that cluster's read-only and rules when it
  is reached through DOCKER_HOST or --host;
* a name rule written as the plan prints it (``/name``, ``node/name``) protects;
* bad input of every kind ends in one sentence and exit status 1 or 2, and the engine keeps every
  container; output that cannot be written (``> /dev/full``) likewise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness import carina, exists, write_config

def one_sentence(err: str) -> bool:
    lines = err.strip().splitlines()
    return (len(lines) == 1 and lines[0].startswith("carina-tui: ") and lines[0].endswith((".", "?"))
            and "Traceback" not in err and "This is a bug" not in err and len(lines[0]) < 600)


@pytest.fixture
def stopped(scratch):
    """Two stopped containers carrying a label only this test uses; ``tag`` selects them."""
    label = {"carina.opt": scratch.tag}
    return {"only": ["--label", f"carina.opt={scratch.tag}"],
            "names": [scratch.exited("a", labels=label), scratch.exited("b", labels=label)]}


@pytest.fixture
def dead(tmp_path) -> str:
    """An engine address where nothing answers: what a dropped option would fall back to."""
    return f"unix://{tmp_path}/nothing-here.sock"


def placed(options: list[str], command: str, position: str, rest: list[str]) -> list[str]:
    return [*options, command, *rest] if position == "before" else [command, *options, *rest]


# --------------------------------------------------------------------------- options before or after the command


@pytest.mark.parametrize("position", ["before", "after"])
def test_read_only_is_obeyed_on_either_side_of_cleanup(docker_host, test_engine, stopped, position):
    out = carina(*placed(["--read-only"], "cleanup", position, [*stopped["only"], "--yes"]),
                 env={"DOCKER_HOST": docker_host})
    assert out.returncode == 1 and "read-only" in out.stderr and "Traceback" not in out.stderr
    assert all(exists(test_engine, n) for n in stopped["names"])


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("option", ["--host", "--cluster", "--config"])
def test_cleanup_works_on_the_engine_the_option_names(docker_host, test_engine, stopped, dead, tmp_path,
                                                      option, position):
    rest = [*stopped["only"], "--yes", "--json"]
    if option == "--host":
        options = ["--host", docker_host]
    elif option == "--cluster":
        write_config(f'[clusters.here]\nendpoints = ["{docker_host}"]\n')
        options = ["--cluster", "here"]
    else:  # --config alone chooses the cluster list; --cluster stays after the command
        config = write_config(f'[clusters.there]\nendpoints = ["{docker_host}"]\n', tmp_path / "other.toml")
        options, rest = ["--config", str(config)], ["--cluster", "there", *rest]
    out = carina(*placed(options, "cleanup", position, rest), env={"DOCKER_HOST": dead})
    assert out.returncode == 0, out.stderr
    assert sorted(r["name"] for r in json.loads(out.stdout)["removed"]) == sorted(stopped["names"])
    assert not any(exists(test_engine, n) for n in stopped["names"])


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("option", ["--host", "--cluster", "--config"])
def test_status_reports_the_engine_the_option_names(docker_host, dead, tmp_path, option, position):
    rest = ["--json"]
    if option == "--host":
        options, cluster = ["--host", docker_host], docker_host
    elif option == "--cluster":
        write_config(f'[clusters.here]\nendpoints = ["{docker_host}"]\n')
        options, cluster = ["--cluster", "here"], "here"
    else:
        config = write_config(f'[clusters.there]\nendpoints = ["{docker_host}"]\n', tmp_path / "other.toml")
        options, rest, cluster = ["--config", str(config)], ["--cluster", "there", *rest], "there"
    out = carina(*placed(options, "status", position, rest), env={"DOCKER_HOST": dead})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["cluster"] == cluster
    assert [(e["endpoint"], e["reachable"]) for e in doc["engines"]] == [(docker_host, True)]


@pytest.mark.parametrize("position", ["before", "after"])
def test_clusters_lists_what_the_options_name(docker_host, dead, tmp_path, position):
    config = write_config(f'[clusters.there]\nendpoints = ["{docker_host}"]\n', tmp_path / "other.toml")
    out = carina(*placed(["--config", str(config)], "clusters", position, ["--json"]), env={"DOCKER_HOST": dead})
    assert out.returncode == 0, out.stderr
    found = {c["name"]: c for c in json.loads(out.stdout)}
    assert found["there"]["reachable"] is True and found["there"]["origin"] == str(config)

    out = carina(*placed(["--host", docker_host], "clusters", position, ["--json"]), env={"DOCKER_HOST": dead})
    first = json.loads(out.stdout)[0]
    assert (first["source"], first["endpoints"], first["reachable"]) == ("cli", [docker_host], True)

    out = carina(*placed(["--cluster", "nope"], "clusters", position, ["--json"]))
    assert out.returncode == 1 and 'No cluster is named "nope"' in out.stderr and one_sentence(out.stderr)


@pytest.mark.parametrize("argv", [
    ["--host", "{url}", "cleanup", "--host", "{dead}", "--yes"],
    ["--read-only", "cleanup", "--until", "1h", "--until", "0s", "--yes"],
    ["--cluster", "here", "status", "--cluster", "there"],
    ["--host", "{url}", "clusters", "--cluster", "here"],
])
def test_two_values_for_one_option_are_refused_before_anything_happens(docker_host, test_engine, stopped, dead,
                                                                       argv):
    argv = [a.format(url=docker_host, dead=dead) for a in argv]
    if argv[-1] == "--yes":
        argv[-1:] = [*stopped["only"], "--yes"]
    out = carina(*argv, env={"DOCKER_HOST": docker_host})
    assert out.returncode == 2 and one_sentence(out.stderr) and out.stdout == ""
    assert ("given twice" in out.stderr) or ("not both" in out.stderr)
    assert all(exists(test_engine, n) for n in stopped["names"])


# --------------------------------------------------------------------------- an engine of a configured cluster


@pytest.mark.parametrize("named_by", ["DOCKER_HOST", "--host"])
def test_a_read_only_clusters_engine_stays_read_only_however_it_is_named(docker_host, test_engine, stopped,
                                                                         named_by):
    # written as another spelling of the same address: a trailing slash
    write_config(f'[clusters.frozen]\nendpoints = ["{docker_host}/"]\nread_only = true\n'
                 f'protect = [{{ name = "{stopped["names"][0]}" }}]\n')
    argv = ["cleanup", *stopped["only"], "--yes"]
    out = carina(*argv, env={"DOCKER_HOST": docker_host}) if named_by == "DOCKER_HOST" else \
        carina("--host", docker_host, *argv)
    assert out.returncode == 1 and "open read-only" in out.stderr
    assert all(exists(test_engine, n) for n in stopped["names"])


def test_a_clusters_own_rule_protects_its_engine_reached_through_docker_host(docker_host, test_engine, stopped):
    keep, other = stopped["names"]
    write_config(f'[clusters.mine]\nendpoints = ["{docker_host}"]\n'
                 f'protect = [{{ name_pattern = "{keep[:-1]}[a]" }}]\n')
    out = carina("cleanup", *stopped["only"], "--yes", "--json", env={"DOCKER_HOST": docker_host})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [r["name"] for r in report["removed"]] == [other]
    assert [(p["name"], p["rule"]) for p in report["protected"]] == \
        [(keep, f'name pattern "{keep[:-1]}[a]" (cluster:mine)')]
    assert exists(test_engine, keep) and not exists(test_engine, other)


# --------------------------------------------------------------------------- a name rule as the plan prints it


def test_a_name_rule_written_as_the_plan_prints_it_protects(docker_host, test_engine, scratch):
    label = {"carina.opt": scratch.tag}
    slash, node, plain = (scratch.exited(base, labels=label) for base in ("consul-a", "consul-b", "job"))
    write_config(f'[[protect]]\nname = "/{slash}"\n[[protect]]\nname = "node-1/{node}"\n')
    out = carina("cleanup", "--host", docker_host, "--label", f"carina.opt={scratch.tag}", "--yes", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [r["name"] for r in report["removed"]] == [plain]
    assert {p["name"]: p["rule"] for p in report["protected"]} == {
        slash: f'name "{slash}" (config)', node: f'name "{node}" (config)'}
    assert exists(test_engine, slash) and exists(test_engine, node) and not exists(test_engine, plain)


# --------------------------------------------------------------------------- bad input of every kind

DIGITS = "9" * 5000


def bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    """(arguments, words the sentence holds). Every cleanup case also narrows to the test's
    containers and says --yes, so an input that were dropped would remove them."""
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "gone.toml")
    port = write_config(f'[clusters.p]\nendpoints = ["tcp://127.0.0.1:{DIGITS}"]\n', tmp_path / "port.toml")
    node_port = write_config(f'[clusters.p]\nendpoints = ["unix:///s"]\nnode_port = {DIGITS}\n',
                             tmp_path / "node_port.toml")
    name = write_config('[[protect]]\nname = "my agent"\n', tmp_path / "name.toml")
    configs = [(str(folder), "is a folder"), (str(fifo), "named pipe"), (str(dangling), "symbolic link"),
               (str(port), "its port must be a number"), (str(node_port), "number too long"),
               (str(name), "is not a container name Docker allows"), ("", "--config is empty"),
               ("x" * 5000, "File name too long")]
    hosts = [("", "--host is empty"), (" ", "--host is empty"), (f"tcp://127.0.0.1:{DIGITS}", "its port must be"),
             ("x" * 5000, "has no scheme"), ("http://127.0.0.1:2375", 'scheme "http://"'),
             ("tcp://[::1", "not a valid address"), ("unix://", "names no socket"),
             ("tcp://127.0.0.1", "has no port")]
    clusters = [("", "--cluster is empty"), ("x" * 5000, "No cluster is named"), ("a/b", "No cluster is named")]
    cases: list[tuple[list[str], str]] = []
    for until, words in (("", "--until takes a duration"), (" ", "--until takes a duration"),
                         (DIGITS, "--until takes a duration"), (DIGITS + "s", "longer than a hundred years"),
                         ("1x", "--until takes a duration"), ("-1h", "Argument --until: expected one argument")):
        cases.append((["cleanup", "--until", until], words))
    cases.append((["cleanup", "--until=-1h"], "--until takes a duration"))
    cases.append((["cleanup", "--no-such-option"], "Unrecognized arguments: --no-such-option"))
    for label in ("", "=x", " =x"):
        cases.append((["cleanup", "--label", label], "--label takes KEY or KEY=VALUE"))
    for command in ("cleanup", "status", "clusters", None):
        head = [command] if command else []
        for value, words in hosts:
            cases.append(([*head, "--host", value], words))
        for value, words in configs:
            cases.append(([*head, "--config", value], words))
        if command != "clusters":  # clusters lists them all; --cluster only marks one
            for value, words in clusters:
                cases.append(([*head, "--cluster", value], words))
    return cases


def test_bad_input_is_one_sentence_and_the_engine_keeps_every_container(docker_host, test_engine, stopped,
                                                                        tmp_path):
    before = sorted(test_engine.ids())
    problems = []
    for argv, words in bad_inputs(tmp_path):
        if argv and argv[0] == "cleanup":
            argv = [*argv, *stopped["only"], "--yes"]
        out = carina(*argv, env={"DOCKER_HOST": docker_host})
        if out.returncode not in (1, 2) or not one_sentence(out.stderr) or words not in out.stderr:
            problems.append(f"{[a[:40] for a in argv]}: exit {out.returncode}, stderr {out.stderr[-300:]!r}")
    assert problems == []
    assert sorted(test_engine.ids()) == before
    assert all(exists(test_engine, n) for n in stopped["names"])


@pytest.mark.parametrize("argv", [
    ["clusters", "--json"],
    ["status", "--host", "{url}"],
    ["status", "--host", "{url}", "--json"],
    ["cleanup", "--host", "{url}", "--dry-run", "--json"],
    ["cleanup", "--host", "{url}", "--dry-run"],
])
def test_output_to_a_full_disk_is_one_sentence(docker_host, stopped, argv):
    argv = [a.format(url=docker_host) for a in argv]
    with open("/dev/full", "w") as full:
        out = carina(*argv, *(stopped["only"] if argv[0] == "cleanup" else []), stdout=full)
    assert out.returncode == 1, out.stderr
    assert out.stderr == ("carina-tui: The output could not be written to standard output (No space left on "
                          "device); free some space or send it somewhere else.\n")
