"""The command line: help, version, and a plain sentence when no engine answers."""

from __future__ import annotations

from harness import carina


def test_version_and_help():
    from carina_tui import __version__

    out = carina("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"carina-tui {__version__}"
    out = carina("--help")
    assert out.returncode == 0
    for word in ("--host", "--read-only", "--cluster", "cleanup", "clusters", "status"):
        assert word in out.stdout


def test_no_engine_is_one_sentence_and_exit_1(tmp_path):
    dead = f"unix://{tmp_path}/none.sock"
    out = carina("--host", dead)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"carina-tui: No Docker engine answers at {dead}; start dockerd there, or choose another "
        "engine with --host, DOCKER_HOST or a Docker context."
    )
    assert "Traceback" not in out.stderr


def test_docker_host_is_used_like_the_docker_cli(tmp_path):
    dead = f"unix://{tmp_path}/env.sock"
    out = carina(env={"DOCKER_HOST": dead})
    assert out.returncode == 1 and dead in out.stderr


def test_bad_usage_exits_2():
    out = carina("--no-such-option")
    assert out.returncode == 2
    assert out.stderr == "carina-tui: Unrecognized arguments: --no-such-option; see `carina-tui --help`.\n"


def test_clusters_json_lists_every_cluster_with_reachability(docker_host, tmp_path):
    import json

    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.here]\nendpoints = ["{docker_host}"]\n\n'
                      f'[clusters.gone]\nendpoints = ["unix://{tmp_path}/gone.sock"]\n')
    out = carina("clusters", "--config", str(config), "--json")
    assert out.returncode == 0, out.stderr
    found = {c["name"]: c for c in json.loads(out.stdout)}
    assert {"here", "gone", "default"} <= set(found)
    for entry in found.values():
        assert {"name", "source", "endpoints", "reachable", "error"} <= set(entry)
    assert found["here"]["reachable"] is True and found["here"]["source"] == "config"
    assert found["here"]["endpoints"] == [docker_host] and found["here"]["error"] == ""
    assert found["gone"]["reachable"] is False and "No Docker engine answers" in found["gone"]["error"]


def test_clusters_prints_a_header_over_aligned_columns(docker_host, tmp_path):
    gone = f"unix://{tmp_path}/gone.sock"
    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.here]\nendpoints = ["{docker_host}"]\n\n'
                      f'[clusters.a-much-longer-name]\nendpoints = ["{gone}"]\n')
    out = carina("clusters", "--config", str(config))
    assert out.returncode == 0, out.stderr
    header, *lines = out.stdout.splitlines()
    assert header.split() == ["NAME", "SOURCE", "STATE", "NODES", "TLS", "VERSION", "ENDPOINTS"]
    at = {word: header.index(word) for word in header.split()}
    rows = {line.split()[0]: line for line in lines if not line.startswith(" ")}
    assert {"here", "a-much-longer-name", "default"} <= set(rows)
    for name, line in rows.items():  # every cell starts under its heading, whatever the names' lengths
        for word in ("SOURCE", "STATE", "NODES", "TLS", "VERSION", "ENDPOINTS"):
            assert line[at[word] - 1] == " " and line[at[word]] != " ", (word, line)
    assert rows["here"][at["STATE"]:].split()[0] == "up" and rows["here"][at["ENDPOINTS"]:] == docker_host
    assert rows["a-much-longer-name"][at["STATE"]:].split()[0] == "DOWN"
    error = lines[lines.index(rows["a-much-longer-name"]) + 1]  # the reason, under the row
    assert error.startswith(" " * at["SOURCE"]) and "No Docker engine answers" in error


def test_status_on_one_engine_names_networks_plainly(docker_host):
    import json

    out = carina("status", "--host", docker_host)
    assert out.returncode == 0, out.stderr
    (line,) = [l for l in out.stdout.splitlines() if l.strip().startswith("networks:")]
    shown = line.split(":", 1)[1].strip().split(", ")
    assert {"bridge", "host", "none"} <= set(shown) and not any("/" in n for n in shown)
    doc = json.loads(carina("status", "--host", docker_host, "--json").stdout)
    bridge = next(n for n in doc["networks"] if n["name"] == "bridge")
    assert bridge["node"] and bridge["scope"] == "local"  # the node is in the JSON, for scripts


def _json_help(command: str) -> str:
    shown = " ".join(carina(command, "--help").stdout.split())  # argparse wraps: compare it unwrapped
    return shown[shown.rindex(" --json ") + len(" --json "):]


def test_json_help_names_every_key_the_command_prints(docker_host, tmp_path):
    import json

    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.here]\nendpoints = ["{docker_host}"]\n')
    printed = {
        "status": json.loads(carina("status", "--host", docker_host, "--json").stdout),
        "clusters": json.loads(carina("clusters", "--config", str(config), "--json").stdout)[0],
        "cleanup": json.loads(carina("cleanup", "--host", docker_host, "--label", "carina.none=1", "--dry-run",
                                     "--json").stdout),
    }
    for command, doc in printed.items():
        words = set(_json_help(command).replace(",", " ").replace(":", " ").replace("(", " ").split())
        assert set(doc) <= words, f"{command} --help leaves out {set(doc) - words}"


def readme_examples() -> dict[str, object]:
    """The README's ``$ carina-tui ... --json`` examples, by the command's words (options left out)."""
    import json
    import re

    from harness import ROOT

    text = (ROOT / "README.md").read_text()
    found = {}
    for block in re.findall(r"```console\n\$ carina-tui (.*?)\n```", text, re.S):
        line, _, body = block.partition("\n")
        if "--json" in line:
            words = [w for w in line.split() if w in ("clusters", "status", "cleanup", "--dry-run", "--yes", "services",
                                                      "images", "volumes", "--images", "--volumes")]
            found[" ".join(words)] = json.loads(body)
    return found


def undocumented(example, real, where="") -> list[str]:
    """What ``real`` prints that ``example`` does not show: keys, or a value of another type. Lists
    are compared by their first items, when both have one."""
    if isinstance(real, dict) and isinstance(example, dict):
        return [f"{where}.{k}" for k in real if k not in example] + [
            miss for k in real if k in example for miss in undocumented(example[k], real[k], f"{where}.{k}")]
    if isinstance(real, list) and isinstance(example, list):
        return undocumented(example[0], real[0], f"{where}[0]") if real and example else []
    if real is not None and example is not None and type(real) is not type(example):
        return [f"{where} is {type(real).__name__} in a real run, {type(example).__name__} in the README"]
    return []


def test_the_readme_shows_what_each_json_output_really_holds(docker_host, test_engine, scratch, tmp_path):
    import json

    from harness import TEST_LABEL
    from storage_helpers import Stock

    examples = readme_examples()
    # services needs a swarm: tests/cluster/test_services.py checks its example on the sandbox
    assert set(examples) == {"clusters", "status", "cleanup --dry-run", "cleanup --yes", "services", "images",
                             "volumes", "cleanup --images --dry-run", "cleanup --volumes --dry-run"}
    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.here]\nendpoints = ["{docker_host}"]\n')
    tag = {"carina.readme": scratch.tag}
    scratch.exited("done", labels=tag)
    scratch.exited("kept", labels={**tag, "carina.protected": "true"})
    only = ["--host", docker_host, "--label", f"carina.readme={scratch.tag}"]
    stock = Stock(test_engine, scratch)  # an unused image and volume, and an agent using one of each
    stock.key = "carina.readme"
    kept, volume = stock.image(f"carina/consul:t{scratch.tag}"), stock.volume("kept")
    stock.image(), stock.volume("spare")
    agent = scratch.name("agent")
    scratch.containers.append(agent)
    test_engine.docker("create", "--name", agent, "--label", TEST_LABEL, "-v", f"{volume}:/data", kept, "true")
    test_engine.docker("start", "--attach", agent)  # exited: ``status`` counts states the README shows
    real = {
        "clusters": carina("clusters", "--config", str(config), "--json"),
        "status": carina("status", "--host", docker_host, "--json"),
        "cleanup --dry-run": carina("cleanup", *only, "--dry-run", "--json"),
        "cleanup --yes": carina("cleanup", *only, "--yes", "--json"),
        "images": carina("images", "--host", docker_host, "--json"),
        "volumes": carina("volumes", "--host", docker_host, "--json"),
        "cleanup --images --dry-run": carina("cleanup", "--images", *only, "--dry-run", "--json"),
        "cleanup --volumes --dry-run": carina("cleanup", "--volumes", *only, "--dry-run", "--json"),
    }
    try:
        check_readme(examples, real)
    finally:
        stock.cleanup()
    removed = json.loads(real["cleanup --yes"].stdout)
    assert [r["name"] for r in removed["removed"]] == [scratch.name("done")]
    # the agent carries the label too: a container has its image's labels
    assert sorted(p["name"] for p in removed["protected"]) == sorted([agent, scratch.name("kept")])


def check_readme(examples, real) -> None:
    import json

    for command in ("images", "volumes"):  # the first entries with a protected user: compared field by field
        doc = json.loads(real[command].stdout)
        real[command] = None
        assert undocumented(examples[command], [e for e in doc if e["protected"]] or doc) == [], command
    for command, out in real.items():
        if out is None:
            continue
        assert out.returncode == 0, (command, out.stderr)
        doc = json.loads(out.stdout)
        assert undocumented(examples[command], doc) == [], f"README: carina-tui {command} --json"


def test_services_on_an_engine_outside_a_swarm_is_one_sentence(docker_host):
    out = carina("services", "--host", docker_host, "--json")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"carina-tui: No engine of {docker_host} answers as a swarm manager")
    assert "docker swarm init" in out.stderr and "Traceback" not in out.stderr
