"""Images on a real cluster of several engines over TLS (issue 16): the image a stopped Consul agent
uses on a node that is not a manager is never in a prune plan, and a real prune leaves it there."""

from __future__ import annotations

import json
import os

import pytest

import harness
from harness import carina
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import rootfs_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")


def on_sandbox(state, *args: str):
    return carina(*args, "--config", state.config_file, "--cluster", state.name)


def test_a_stopped_agents_image_on_a_worker_is_never_planned(sandbox_cluster):
    worker = sandbox_cluster.nodes[1]
    assert eng.docker(worker.url, "info", "--format", "{{.Swarm.ControlAvailable}}").strip() == "false"
    agent_image = eng.docker(worker.url, "inspect", "--format", "{{.Image}}", "carina-svcd").strip()
    # an unused image of its own on the worker, with a label, for the real prune below
    spare = eng.docker(worker.url, "import", "--change", "LABEL carina.stock=sandbox", "-",
                       input=rootfs_tar()).strip()
    eng.docker(worker.url, "stop", "--time", "1", "carina-svcd")
    try:
        for mode in ((), ("dangling",)):
            out = on_sandbox(sandbox_cluster, "cleanup", "--images", *mode, "--dry-run", "--json")
            assert out.returncode == 0, out.stderr
            doc = json.loads(out.stdout)
            planned = {(p["node"], p["id"]) for p in doc["planned"]}
            assert (worker.name, agent_image) not in planned
            assert (worker.name, spare) in planned
            kept_here = [p for p in doc["protected"] if (p["node"], p["id"]) == (worker.name, agent_image)]
            if mode:  # the agent's image has a name: a dangling-only plan does not list it at all
                assert kept_here == []
                continue
            (kept,) = kept_here
            assert kept["used_by"] == {"id": kept["used_by"]["id"], "name": "carina-svcd", "node": worker.name,
                                       "state": "exited"}
        out = on_sandbox(sandbox_cluster, "cleanup", "--images", "--label", "carina.stock=sandbox", "--yes", "--json")
        assert out.returncode == 0, out.stderr
        assert [(r["node"], r["id"]) for r in json.loads(out.stdout)["removed"]] == [(worker.name, spare)]
        assert eng.docker(worker.url, "image", "inspect", "--format", "{{.Id}}", agent_image).strip() == agent_image
    finally:
        eng.docker(worker.url, "start", "carina-svcd")
        eng.docker(worker.url, "rmi", spare, check=False)
