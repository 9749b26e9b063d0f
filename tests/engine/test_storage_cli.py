"""``carina-tui images``, ``volumes`` and ``cleanup --images/--volumes`` (issue 16), as a user runs
them: a new process, against the real engine. Every plan is asked for with the test's own label:
the engine is shared by the whole run."""

from __future__ import annotations

import json


import harness
from harness import carina
from storage_helpers import Stock

PROTECTED = {"carina.protected": "true"}



def mine(doc: list[dict], stock: Stock, key: str = "id") -> dict[str, dict]:
    return {entry[key]: entry for entry in doc if entry[key] in stock.refs + stock.volumes}


def test_images_json_names_users_and_the_protected_container(docker_host, test_engine, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    bare = stock.image()
    agent = scratch.create("agent", image=used, labels=PROTECTED)
    out = carina("images", "--host", docker_host, "--json")
    assert out.returncode == 0, out.stderr
    found = mine(json.loads(out.stdout), stock)
    assert found[used]["tags"] == [f"t{scratch.tag}-used:1"] and found[used]["dangling"] is False
    assert [(u["name"], u["state"]) for u in found[used]["used_by"]] == [(agent, "created")]
    assert found[used]["protected"]["name"] == agent and "carina.protected=true" in found[used]["protected"]["rule"]
    assert found[bare]["dangling"] is True and found[bare]["name"] == "<none>" and found[bare]["protected"] is None
    assert found[bare]["size"] > 0

    table = carina("images", "--host", docker_host).stdout.splitlines()
    header = table[0]
    assert header.split() == ["NODE", "REPOSITORY:TAG", "IMAGE", "ID", "SIZE", "CREATED", "USED", "BY"]
    row = next(i for i, line in enumerate(table) if f"t{scratch.tag}-used:1" in line)
    assert table[row][header.index("USED BY"):].strip() == agent
    assert table[row + 1].strip().startswith(f"protected: {agent} (created) by label")
    assert any(bare.split(":", 1)[1][:12] in line and "<none> (dangling)" in line for line in table)


def test_images_text_lists_every_name_of_an_image(docker_host, test_engine, scratch, stock):
    """An image tagged twice: the text output names both (QA: only the first showed)."""
    first, second = f"t{scratch.tag}-multi:latest", f"t{scratch.tag}-multi:qa"
    made = stock.image(first)
    stock.tag(first, second)
    table = carina("images", "--host", docker_host).stdout.splitlines()
    (line,) = [line for line in table if made.split(":", 1)[1][:12] in line]
    assert f"{first}, {second}" in line, line
    doc = mine(json.loads(carina("images", "--host", docker_host, "--json").stdout), stock)
    assert sorted(doc[made]["tags"]) == [first, second]


def test_volumes_json_says_size_users_and_protection(docker_host, test_engine, scratch, stock):
    data = stock.volume("data")
    spare = stock.volume("spare")
    name = scratch.name("agent")
    scratch.containers.append(name)
    test_engine.docker("run", "--name", name, "--label", harness.TEST_LABEL, "--label", "carina.protected=true",
                       "-v", f"{data}:/data", harness.BUSYBOX_IMAGE, "sh", "-c", "echo hello > /data/x")
    out = carina("volumes", "--host", docker_host, "--json")
    assert out.returncode == 0, out.stderr
    found = mine(json.loads(out.stdout), stock, key="name")
    assert found[data]["size"] == 6 and found[data]["driver"] == "local"
    assert [u["name"] for u in found[data]["used_by"]] == [name] and found[data]["protected"]["name"] == name
    assert found[spare]["used_by"] == [] and found[spare]["protected"] is None and found[spare]["size"] == 0


def test_cleanup_images_plans_and_removes_only_what_no_container_uses(docker_host, test_engine, scratch, stock):
    used = stock.image(f"t{scratch.tag}-used:1")
    kept = stock.image(f"t{scratch.tag}-kept:1")
    bare = stock.image()
    named = stock.image(f"t{scratch.tag}-named:1")
    scratch.create("user", image=used)
    agent = scratch.create("agent", image=kept, labels=PROTECTED)
    only = ["--host", docker_host, "--label", stock.label]

    dry = carina("cleanup", "--images", "dangling", *only, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert [p["id"] for p in doc["planned"]] == [bare] and doc["hidden_by_filter"] >= 1  # named: not dangling
    assert doc["protected"] == []  # kept has a name: a dangling-only plan does not list it (QA: it did)
    assert set(doc) == {"planned", "protected", "hidden_by_filter", "removed", "skipped", "failed"}

    done = carina("cleanup", "--images", *only, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [(p["id"], p["used_by"]["name"]) for p in doc["protected"]] == [(kept, agent)]
    assert sorted(r["id"] for r in doc["removed"]) == sorted([bare, named]) and doc["failed"] == []
    assert stock.has_image(used) and stock.has_image(kept)
    assert not stock.has_image(bare) and not stock.has_image(named)


def test_cleanup_volumes_keeps_a_protected_ones_volume(docker_host, test_engine, scratch, stock):
    data = stock.volume("data")
    spare = stock.volume("spare")
    name = scratch.name("agent")
    scratch.containers.append(name)
    test_engine.docker("create", "--name", name, "--label", harness.TEST_LABEL, "-v", f"{data}:/data",
                       harness.CONSUL_IMAGE, "true")
    only = ["--host", docker_host, "--label", stock.label]
    out = carina("cleanup", "--volumes", *only, "--yes", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["name"] for r in doc["removed"]] == [spare]
    assert [(p["name"], p["used_by"]["name"], p["rule"]) for p in doc["protected"]] == [
        (data, name, 'image repository "carina/consul" (default)')]
    assert stock.has_volume(data) and not stock.has_volume(spare)

    human = carina("cleanup", "--volumes", *only, "--dry-run")
    assert "Protected and kept (1):" in human.stdout and f"used by {node_name(docker_host)}/{name}" in human.stdout
    assert "Hidden by the filter: 0 unused volume(s), not touched." in human.stdout


def node_name(host: str) -> str:
    """The engine's name, which qualified names start with."""
    from carina_tui.gateways.docker_gateway import DockerGateway

    gateway = DockerGateway(host)
    try:
        return gateway.info().name
    finally:
        gateway.close()


def test_cleanup_images_read_only_removes_nothing(docker_host, stock):
    bare = stock.image()
    out = carina("cleanup", "--images", "--host", docker_host, "--label", stock.label, "--yes", "--read-only")
    assert out.returncode == 1 and "read-only" in out.stderr
    assert stock.has_image(bare)


def test_images_and_volumes_cannot_be_planned_together(docker_host):
    out = carina("cleanup", "--images", "--volumes", "--host", docker_host, "--dry-run")
    assert out.returncode == 2 and "not allowed with" in out.stderr and "Traceback" not in out.stderr


def test_json_help_names_every_key_images_and_volumes_print(docker_host, test_engine, scratch, stock):
    from test_cli import _json_help

    stock.volume("help")
    agent = scratch.create("agent", labels=PROTECTED)  # keeps busybox: a protected entry to look at
    printed = {
        "images": json.loads(carina("images", "--host", docker_host, "--json").stdout),
        "volumes": json.loads(carina("volumes", "--host", docker_host, "--json").stdout),
        "cleanup": json.loads(carina("cleanup", "--images", "--host", docker_host, "--dry-run", "--json").stdout),
    }
    assert agent and printed["images"] and printed["volumes"] and printed["cleanup"]["protected"]
    for command, doc in printed.items():
        words = set(_json_help(command).replace(",", " ").replace(":", " ").replace("(", " ").replace(")", " ")
                    .split())
        entries = doc if isinstance(doc, list) else doc["planned"] + doc["protected"]
        keys = set(doc) if isinstance(doc, dict) else set()
        for entry in entries:
            used = entry.get("used_by") or []
            keys |= set(entry) | set(entry.get("protected") or {})
            keys |= set().union(*(set(u) for u in (used if isinstance(used, list) else [used])))
        assert keys <= words, f"{command} --help leaves out {keys - words}"
