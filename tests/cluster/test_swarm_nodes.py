"""Swarm nodes, overlay addresses, task history and the walk-through in swarm mode (issue 15),
on a real 3-node sandbox (2 managers, so that draining one manager is allowed and the last is not).

One sandbox for the module. Every check is made against what the engine holds afterwards
(``docker node ls``, ``docker network inspect --verbose``, ``docker ps -a``), and every guarded
attempt against the audit log.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pytest

import harness
from carina_tui.core.audit import AuditLog
from carina_tui.core.errors import Refused
from carina_tui.sandbox import cluster
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE
from carina_tui.services import overlay
from carina_tui.services.targets import open_session

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")

HANG = 90  # seconds: a generous bound on what the swarm does by itself (schedule, start, stop)


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    try:
        state = harness.start_test_sandbox(tmp_path_factory.mktemp("swarm-home"), nodes=3, managers=2)
    except eng.EngineError as err:
        pytest.fail(f"The test sandbox did not come up: {err}", pytrace=False)
    # The sandbox keeps one task per slot; the cleanup tests need Swarm to keep an exited one.
    d(state.nodes[0], "swarm", "update", "--task-history-limit", "3")
    yield state
    harness.stop_test_sandbox(state)


def d(node: cluster.NodeState, *args: str, check: bool = True) -> str:
    return eng.docker(node.url, *args, check=check, timeout=90)


def open_on(state: cluster.SandboxState, audit: Path, *, read_only: bool = False):
    session, _ = open_session(argparse.Namespace(config=state.config_file, cluster=state.name, host=None,
                                                 read_only=read_only))
    session.guard.audit = AuditLog(audit)
    return session


@pytest.fixture
def session(swarm, tmp_path):
    s = open_on(swarm, tmp_path / "audit.log")
    yield s
    s.close()


def audit_lines(session) -> list[dict]:
    path = session.guard.audit.path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def node_ls(node: cluster.NodeState) -> dict[str, tuple[str, str, str]]:
    """hostname -> (status, availability, manager status) as ``docker node ls`` says."""
    out = d(node, "node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}")
    return {h: (s, a, m) for h, s, a, m in (line.split("|") for line in out.split("\n") if line)}


def wait_for(what: str, check, bound: float = HANG):
    deadline = time.monotonic() + bound
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not so after {bound:.0f} s")
        time.sleep(0.5)


def service(node: cluster.NodeState, name: str, *options: str, command=("sleep", "1d")) -> str:
    """``docker service create`` of a busybox stand-in (no registry: the image is on every node)."""
    d(node, "service", "create", "--detach", "--no-resolve-image", "--name", name, "--stop-grace-period", "1s",
      *options, BUSYBOX_IMAGE, *command)
    return name


def running_tasks(node: cluster.NodeState, name: str) -> list[str]:
    out = d(node, "service", "ps", name, "--filter", "desired-state=running",
            "--format", "{{.Node}}|{{.CurrentState}}")
    return [line.split("|")[0] for line in out.split("\n") if line and line.split("|")[1].startswith("Running")]


def remove_network(node: cluster.NodeState, name: str) -> None:
    """Remove a network once the service that used it has let go of it (the nodes take a moment)."""
    wait_for(f"network {name} is removed", lambda: d(node, "network", "rm", name, check=False).strip() == name
             or name not in d(node, "network", "ls", "--format", "{{.Name}}").split())


def by_name(session, hostname: str):
    return next(n for n in session.snapshot().nodes if n.hostname == hostname)


# -- nodes ---------------------------------------------------------------------------------------


def test_the_node_list_says_what_docker_node_ls_says(swarm, session):
    n1 = swarm.nodes[0]
    nodes = session.snapshot().nodes
    listed = node_ls(n1)
    assert [n.hostname for n in nodes] == sorted(listed)
    version = d(n1, "version", "--format", "{{.Server.Version}}").strip()
    for n in nodes:
        status, availability, manager = listed[n.hostname]
        assert (n.status, n.availability) == (status.lower(), availability.lower())
        assert n.role == ("manager" if manager else "worker")
        assert n.leader == (manager == "Leader")
        assert n.engine_version == version
    assert [n.hostname for n in nodes if n.leader] == [n1.name]


def test_drain_moves_the_tasks_and_activate_takes_the_node_back(swarm, session):
    n1, _, n3 = swarm.nodes
    name = service(n1, "drained", "--replicas", "1", "--constraint", "node.role==worker")
    try:
        assert wait_for("the task runs on the worker", lambda: running_tasks(n1, name)) == [n3.name]
        after = session.guard.set_availability(by_name(session, n3.name), "drain")
        assert after.availability == "drain"
        assert node_ls(n1)[n3.name][1] == "Drain"
        # drain stops its tasks (the only worker: nowhere to go) but not the protected Consul agent,
        # which is a plain container: drain never touches those, so it does not refuse for it
        wait_for("the task left the drained node", lambda: not running_tasks(n1, name))
        assert d(n3, "inspect", "--format", "{{.State.Status}}", "carina-svcd").strip() == "running"
        back = session.guard.set_availability(by_name(session, n3.name), "active")
        assert back.availability == "active" and node_ls(n1)[n3.name][1] == "Active"
        assert wait_for("the task is back on the worker", lambda: running_tasks(n1, name)) == [n3.name]
        assert [(a["action"], a["target_name"], a["outcome"]) for a in audit_lines(session)] == [
            ("node.drain", n3.name, "done"), ("node.activate", n3.name, "done")]
    finally:
        d(n1, "service", "rm", name, check=False)
        d(n1, "node", "update", "--availability", "active", n3.name, check=False)


def test_one_manager_may_be_drained_but_the_last_active_one_is_refused(swarm, session):
    n1, n2, _ = swarm.nodes
    try:
        assert session.guard.set_availability(by_name(session, n2.name), "drain").availability == "drain"
        with pytest.raises(Refused) as err:
            session.guard.set_availability(by_name(session, n1.name), "drain")
        assert f"Node {n1.name} is the swarm's last active manager" in str(err.value)
        assert err.value.rule == "last active manager"
        listed = node_ls(n1)
        assert listed[n1.name][1] == "Active" and listed[n2.name][1] == "Drain"
        assert [(a["action"], a["target_name"], a["outcome"], a.get("rule", "")) for a in audit_lines(session)] == [
            ("node.drain", n2.name, "done", ""), ("node.drain", n1.name, "refused", "last active manager")]
    finally:
        d(n1, "node", "update", "--availability", "active", n2.name, check=False)


def test_a_node_running_a_protected_task_is_not_drained(swarm, session):
    n1, _, n3 = swarm.nodes
    name = service(n1, "vault", "--replicas", "1", "--constraint", f"node.hostname=={n3.name}",
                   "--container-label", "carina.protected=true")
    try:
        wait_for("the protected task runs", lambda: running_tasks(n1, name))
        with pytest.raises(Refused) as asked:  # asked before the user is (D's question)
            session.guard.check_availability(by_name(session, n3.name), "drain")
        assert f"Node {n3.name} runs the protected container vault.1." in str(asked.value)
        with pytest.raises(Refused) as err:
            session.guard.set_availability(by_name(session, n3.name), "drain")
        assert f"Node {n3.name} runs the protected container vault.1." in str(err.value)
        assert 'label "carina.protected=true" (default)' in str(err.value)
        assert node_ls(n1)[n3.name][1] == "Active"
        assert running_tasks(n1, name) == [n3.name]
        lines = audit_lines(session)  # the question's check, then the drain's own
        assert [(line["action"], line["target_name"], line["outcome"], line["rule"]) for line in lines] == \
            [("node.drain", n3.name, "refused", 'label "carina.protected=true" (default)')] * 2
    finally:
        d(n1, "service", "rm", name, check=False)


def test_read_only_refuses_drain_and_says_so(swarm, tmp_path):
    n1, _, n3 = swarm.nodes
    frozen = open_on(swarm, tmp_path / "audit.log", read_only=True)
    try:
        with pytest.raises(Refused) as err:
            frozen.guard.set_availability(by_name(frozen, n3.name), "drain")
        assert "read-only" in str(err.value) and "drain was refused" in str(err.value)
        assert node_ls(n1)[n3.name][1] == "Active"
        assert [(a["action"], a["outcome"], a.get("rule", "")) for a in audit_lines(frozen)] == [
            ("node.drain", "refused", "read-only")]
    finally:
        frozen.close()


# -- overlay addresses ---------------------------------------------------------------------------


def verbose_addresses(state: cluster.SandboxState, network: str, subnet_prefix: str) -> set[str]:
    """Every address of ``network`` that ``docker network inspect --verbose`` shows on any node:
    containers (and load balancers), service VIPs, tasks."""
    seen = set()
    for node in state.nodes:
        out = d(node, "network", "inspect", "--verbose", network, check=False)
        if not out.strip().startswith("["):
            continue
        doc = json.loads(out)[0]
        for ep in (doc.get("Containers") or {}).values():
            seen.add(ep["IPv4Address"].split("/")[0])
        for entry in (doc.get("Services") or {}).values():
            seen.add(entry.get("VIP") or "")
            seen.update(t["EndpointIP"] for t in entry.get("Tasks") or ())
    return {a for a in seen if a.startswith(subnet_prefix)}


def on_sandbox(state, *args):
    return harness.carina(*args, "--config", state.config_file, "--cluster", state.name)


def swarm_network(session, name: str):
    return next(n for n in session.snapshot().networks if n.name == name)


def test_address_use_counts_tasks_containers_load_balancers_and_vips_on_every_node(swarm, session):
    n1, n2, n3 = swarm.nodes
    d(n1, "network", "create", "--driver", "overlay", "--attachable", "--subnet", "10.77.1.0/28", "mid")
    name = service(n1, "addr", "--replicas", "2", "--network", "mid", "--constraint", f"node.hostname=={n3.name}")
    try:
        d(n2, "run", "--detach", "--name", "attached", "--network", "mid", BUSYBOX_IMAGE, "sleep", "1d")
        wait_for("both tasks run", lambda: len(running_tasks(n1, name)) == 2)
        expected = wait_for("every endpoint is gossiped", lambda: (
            lambda got: got if len(got) == 6 else None)(verbose_addresses(swarm, "mid", "10.77.1.")))
        use = overlay.address_uses(session, [swarm_network(session, "mid")])[swarm_network(session, "mid").key]
        assert {h.address for h in use.holders} == expected
        assert (use.count("task"), use.count("container"), use.count("load balancer"), use.count("virtual IP")) \
            == (2, 1, 2, 1)
        assert use.nodes_on == {n2.name, n3.name}
        assert {h.node for h in use.holders if h.kind == "task"} == {n3.name}
        assert use.capacity == 13 and use.text == "6/13 (46%)" and use.warning is None and not use.unseen
    finally:
        d(n2, "rm", "--force", "attached", check=False)
        d(n1, "service", "rm", name, check=False)
        remove_network(n1, "mid")


def test_a_small_subnet_warns_at_80_percent_and_a_scale_that_would_not_fit_is_said_first(swarm, session):
    n1, _, n3 = swarm.nodes
    d(n1, "network", "create", "--driver", "overlay", "--subnet", "10.77.0.0/29", "tiny")
    name = service(n1, "packed", "--replicas", "2", "--network", "tiny", "--constraint", f"node.hostname=={n3.name}")
    try:
        wait_for("both tasks run", lambda: len(running_tasks(n1, name)) == 2)
        wait_for("the endpoints show", lambda: len(verbose_addresses(swarm, "tiny", "10.77.0.")) == 4)
        tiny = swarm_network(session, "tiny")
        use = overlay.address_uses(session, [tiny])[tiny.key]
        assert use.text == "4/5 (80%)" and use.breakdown == "2 tasks, 1 load balancer, 1 virtual IP"
        assert use.warning.startswith("Network tiny (10.77.0.0/29) uses 4 of its 5 addresses (80%)")
        status = json.loads(on_sandbox(swarm, "status", "--json").stdout)
        (shown,) = [n for n in status["networks"] if n["name"] == "tiny"]
        assert shown["addresses"] == {"used": 4, "capacity": 5, "free": 1, "unseen_nodes": [], "by_kind": {
            "task": 2, "container": 0, "load balancer": 1, "virtual IP": 1}}
        assert [w["sentence"] for w in status["warnings"] if w["network"] == "tiny"] == [use.warning]
        assert overlay.address_shortfall(session, tiny, tasks=1, what="scaling packed to 3") is None
        # one more task, but on a node with nothing on the network yet: it needs that node's load balancer too
        elsewhere = overlay.address_shortfall(session, tiny, tasks=1, on_nodes=[n1.name], what="one more on n1")
        assert "one more on n1 needs 2 (1 task and 1 load balancer for a node new to the network)" in elsewhere
        sentence = overlay.address_shortfall(session, tiny, tasks=2, what="scaling packed to 4")
        assert sentence.startswith("Network tiny (10.77.0.0/29) has 1 free address of 5, and scaling packed to 4 "
                                   "needs 2 (2 tasks)")
        # the engine agrees: scaled anyway, one task never gets an address and never starts
        d(n1, "service", "scale", "--detach", f"{name}=4")
        wait_for("the third task runs", lambda: len(running_tasks(n1, name)) == 3)
        states = d(n1, "service", "ps", name, "--filter", "desired-state=running", "--format", "{{.CurrentState}}")
        assert sum(1 for s in states.split("\n") if s.startswith("New")) == 1, states
    finally:
        d(n1, "service", "rm", name, check=False)
        remove_network(n1, "tiny")


# -- cleanup keeps Swarm's task history ----------------------------------------------------------


def exited_tasks(node: cluster.NodeState, name: str) -> list[str]:
    out = d(node, "ps", "--all", "--filter", f"label=com.docker.swarm.service.name={name}",
            "--filter", "status=exited", "--format", "{{.Names}}")
    return out.split()


def with_task_history(manager: cluster.NodeState, node: cluster.NodeState, name: str) -> str:
    """A service on ``node`` whose first task was replaced (a forced update): Swarm keeps the old
    task's exited container as its task history. Returns that container's name."""
    service(manager, name, "--replicas", "1", "--constraint", f"node.hostname=={node.name}")
    wait_for("the task runs", lambda: running_tasks(manager, name))
    d(manager, "service", "update", "--detach", "--force", name)
    (old,) = wait_for("the replaced task's container has exited", lambda: exited_tasks(node, name))
    return old


def test_cleanup_keeps_task_history_unless_asked_and_then_removes_it(swarm):
    n1, _, n3 = swarm.nodes
    name = "hist"
    only = ("--label", f"com.docker.swarm.service.name={name}")
    try:
        old = with_task_history(n1, n3, name)
        kept = on_sandbox(swarm, "cleanup", *only, "--dry-run", "--json")
        assert kept.returncode == 0, kept.stderr
        report = json.loads(kept.stdout)
        assert report["planned"] == []
        assert [(c["name"], c["node"], c["service"]) for c in report["task_history"]] == [(old, n3.name, name)]
        assert report["task_history"][0]["task"] == old.rsplit(".", 1)[1]
        human = on_sandbox(swarm, "cleanup", *only, "--dry-run")
        assert "Swarm task history, kept (1):" in human.stdout and "--include-task-history" in human.stdout
        assert on_sandbox(swarm, "cleanup", *only, "--yes").returncode == 0
        assert exited_tasks(n3, name) == [old]  # kept by default

        removed = on_sandbox(swarm, "cleanup", *only, "--include-task-history", "--yes", "--json")
        assert removed.returncode == 0, removed.stderr
        report = json.loads(removed.stdout)
        assert [c["name"] for c in report["planned"]] == [old] and report["task_history"] == []
        assert [c["name"] for c in report["removed"]] == [old]
        assert exited_tasks(n3, name) == []
        assert running_tasks(n1, name) == [n3.name]  # the service itself runs on
    finally:
        d(n1, "service", "rm", name, check=False)


def table_rows(screen, table: str) -> list[tuple[str, ...]]:
    from textual.widgets import DataTable

    t = screen.query_one(f"#{table}", DataTable)
    return [tuple(getattr(v, "plain", str(v)) for v in t.get_row_at(i)) for i in range(t.row_count)]


async def test_the_cleanup_screen_keeps_task_history_until_t_includes_it(swarm):
    from pilot_helpers import sandbox_app, shown, started
    from pilot_helpers import wait_for as wait_on_screen
    from textual.widgets import Checkbox

    from carina_tui.ui.cleanup_screen import CleanupScreen
    from carina_tui.ui.screens import ConfirmScreen

    n1, _, n3 = swarm.nodes
    name = "histui"
    try:
        old = with_task_history(n1, n3, name)
        app = sandbox_app(swarm)
        async with app.run_test(size=(160, 50)) as pilot:
            await started(pilot)
            await shown(pilot, "containers", old)
            await pilot.press("3", "slash", *name, "enter")
            await pilot.press("x")
            screen = await wait_on_screen(pilot, lambda: isinstance(app.screen, CleanupScreen) and app.screen,
                                          "x opens the cleanup plan")
            assert table_rows(screen, "cleanup-remove") == []
            assert [(r[0], r[2]) for r in table_rows(screen, "cleanup-history")] == [(f"{n3.name}/{old}", name)]
            title = str(screen.query_one("#cleanup-history-title").render())
            assert title.startswith("Swarm task history, kept (1)")
            assert screen.query_one("#cleanup-history-box", Checkbox).value is False

            await pilot.press("t")
            assert [r[0] for r in table_rows(screen, "cleanup-remove")] == [f"{n3.name}/{old}"]
            assert table_rows(screen, "cleanup-history") == []
            assert "1 included above" in str(screen.query_one("#cleanup-history-title").render())
            assert screen.query_one("#cleanup-history-box", Checkbox).value is True
            assert exited_tasks(n3, name) == [old]  # nothing is removed before d and y

            await pilot.press("d")
            confirm = await wait_on_screen(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                           "d asks first")
            assert confirm.question == "Remove 1 stopped container?"
            await pilot.press("y")
            await wait_on_screen(pilot, lambda: screen.result is not None, "the removal finishes", timeout=30)
            assert [o.plain_name for o in screen.result.removed] == [old]
        assert exited_tasks(n3, name) == []
    finally:
        d(n1, "service", "rm", name, check=False)


# -- the seed's walk-through, in swarm mode ------------------------------------------------------


def test_walkthrough_mysql_and_wordpress_as_services_find_each_other_by_name(swarm):
    n1, n2, _ = swarm.nodes
    # The sandbox seeds them as plain containers; in swarm mode they are services instead.
    d(n1, "rm", "--force", "mysql")
    d(n2, "rm", "--force", "wordpress")
    common = ("--network", "mynet", "--endpoint-mode", "dnsrr", "--replicas", "1")
    service(n1, "mysql", *common, "--constraint", f"node.hostname=={n1.name}",
            "--env", "MYSQL_ROOT_PASSWORD=sandbox",
            command=("sh", "-c", "echo 'mysql stand-in' > /www/index.html && exec httpd -f -p 3306 -h /www"))
    service(n1, "wordpress", *common, "--constraint", f"node.hostname=={n2.name}",
            "--env", "WORDPRESS_DB_HOST=mysql", command=("sleep", "1d"))
    try:
        assert wait_for("mysql runs", lambda: running_tasks(n1, "mysql")) == [n1.name]
        assert wait_for("wordpress runs", lambda: running_tasks(n1, "wordpress")) == [n2.name]
        (task,) = d(n2, "ps", "--quiet", "--filter", "label=com.docker.swarm.service.name=wordpress").split()
        (mysql_task,) = d(n1, "ps", "--quiet", "--filter", "label=com.docker.swarm.service.name=mysql").split()
        mysql_ip = d(n1, "inspect", "--format", "{{(index .NetworkSettings.Networks \"mynet\").IPAddress}}",
                     mysql_task).strip()
        answer = wait_for("wordpress resolves mysql", lambda: (lambda r: r if mysql_ip in r else None)(
            d(n2, "exec", task, "nslookup", "mysql", check=False)))
        assert mysql_ip in answer
        page = d(n2, "exec", task, "wget", "-q", "-O", "-", "http://mysql:3306/")
        assert page.strip() == "mysql stand-in"
    finally:
        d(n1, "service", "rm", "mysql", "wordpress", check=False)


# -- the console: W, the swarm view ------------------------------------------------------------


async def test_the_swarm_view_drains_activates_refuses_and_shows_a_subnet_filling(swarm):
    from pilot_helpers import notices, sandbox_app, started
    from pilot_helpers import wait_for as wait_on_screen

    from carina_tui.ui.screens import ConfirmScreen
    from carina_tui.ui.swarm_screen import SwarmScreen

    n1, n2, n3 = swarm.nodes
    d(n1, "network", "create", "--driver", "overlay", "--subnet", "10.77.2.0/29", "tinyui")
    name = service(n1, "packedui", "--replicas", "2", "--network", "tinyui",
                   "--constraint", f"node.hostname=={n3.name}")
    try:
        wait_for("both tasks run", lambda: len(running_tasks(n1, name)) == 2)
        wait_for("the endpoints show", lambda: len(verbose_addresses(swarm, "tinyui", "10.77.2.")) == 4)
        app = sandbox_app(swarm)
        async with app.run_test(size=(160, 50)) as pilot:
            await started(pilot)
            await pilot.press("W")
            screen = await wait_on_screen(pilot, lambda: isinstance(app.screen, SwarmScreen) and app.screen,
                                          "W opens the swarm view")
            await wait_on_screen(pilot, lambda: len(table_rows(screen, "swarm-nodes")) == 3, "the nodes show")
            rows = {r[0]: r for r in table_rows(screen, "swarm-nodes")}
            assert rows[n1.name][1:3] == ("manager", "active") and rows[n1.name][5] == "leader"
            assert rows[n3.name][1:4] == ("worker", "active", "ready")
            await wait_on_screen(pilot, lambda: any(r[0] == "tinyui" for r in table_rows(screen, "swarm-addresses")),
                                 "the swarm network shows")
            (tiny,) = [r for r in table_rows(screen, "swarm-addresses") if r[0] == "tinyui"]
            assert tiny[1:] == ("10.77.2.0/29", "4/5 (80%)", "2 tasks, 1 load balancer, 1 virtual IP")
            assert "Network tinyui (10.77.2.0/29) uses 4 of its 5 addresses (80%)" in \
                str(screen.query_one("#swarm-warnings").render())

            async def press_on(hostname: str, key: str) -> None:
                table = screen.query_one("#swarm-nodes")
                table.move_cursor(row=[r[0] for r in table_rows(screen, "swarm-nodes")].index(hostname))
                await pilot.press(key)
                confirm = await wait_on_screen(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                               f"{key} asks first")
                assert hostname in confirm.question
                await pilot.press("y")

            await press_on(n3.name, "D")
            await wait_on_screen(pilot, lambda: node_ls(n1)[n3.name][1] == "Drain", "the engine drains n3", 30)
            await wait_on_screen(pilot, lambda: {r[0]: r[2] for r in table_rows(screen, "swarm-nodes")}.get(n3.name)
                                 == "drain", "the view says drain", 30)
            await press_on(n3.name, "A")
            await wait_on_screen(pilot, lambda: node_ls(n1)[n3.name][1] == "Active", "the engine activates n3", 30)

            # QA: the last manager's drain was confirmed first and refused only after y. The guard's
            # rule is asked before the question: the refusal at once, no confirmation.
            d(n1, "node", "update", "--availability", "drain", n2.name)
            table = screen.query_one("#swarm-nodes")
            table.move_cursor(row=[r[0] for r in table_rows(screen, "swarm-nodes")].index(n1.name))
            await pilot.press("D")
            await wait_on_screen(pilot, lambda: "last active manager" in notices(app), "the refusal is said", 30)
            assert f"Node {n1.name} is the swarm's last active manager" in notices(app)
            await pilot.pause(0.3)
            assert app.screen is screen, "no confirmation is asked for a drain the guard refuses"
            assert node_ls(n1)[n1.name][1] == "Active"
    finally:
        d(n1, "node", "update", "--availability", "active", n2.name, check=False)
        d(n1, "node", "update", "--availability", "active", n3.name, check=False)
        d(n1, "service", "rm", name, check=False)
        remove_network(n1, "tinyui")


# -- the console: the Networks pane's Addrs, and the check before a create or scale --------------


async def test_the_networks_pane_counts_each_swarm_networks_addresses_as_docker_shows_them(swarm):
    from pilot_helpers import cell, sandbox_app, shown, started
    from pilot_helpers import wait_for as wait_on_screen

    n1, n2, n3 = swarm.nodes
    d(n1, "network", "create", "--driver", "overlay", "--attachable", "--subnet", "10.77.3.0/28", "addrpane")
    name = service(n1, "addrsvc", "--replicas", "2", "--network", "addrpane",
                   "--constraint", f"node.hostname=={n3.name}")
    try:
        d(n2, "run", "--detach", "--name", "addrctr", "--network", "addrpane", BUSYBOX_IMAGE, "sleep", "1d")
        wait_for("both tasks run", lambda: len(running_tasks(n1, name)) == 2)
        expected = wait_for("every endpoint is gossiped", lambda: (
            lambda got: got if len(got) == 6 else None)(verbose_addresses(swarm, "addrpane", "10.77.3.")))
        app = sandbox_app(swarm)
        async with app.run_test(size=(160, 50)) as pilot:
            await started(pilot)
            pane = app.pane("networks")
            net = await shown(pilot, "networks", "addrpane")
            await wait_on_screen(pilot, lambda: cell(app, "networks", net.key, "addrs") == f"{len(expected)}/13",
                                 "the Addrs cell says what docker network inspect --verbose shows")
            for bridge in (n for n in pane.items.values() if n.name == "bridge"):
                assert cell(app, "networks", bridge.key, "addrs") == ""  # a node's own network: blank
            assert pane.table.get_cell(net.key, "addrs").style == ""  # 46 %: no warning

            # scaled elsewhere: the events bring the count again, 11 of 13 (85 %) marked
            d(n1, "service", "scale", "--detach", f"{name}=7")
            wait_for("seven tasks run", lambda: len(running_tasks(n1, name)) == 7)
            more = wait_for("their endpoints show", lambda: (
                lambda got: got if len(got) == 11 else None)(verbose_addresses(swarm, "addrpane", "10.77.3.")))
            await wait_on_screen(pilot, lambda: cell(app, "networks", net.key, "addrs") == f"{len(more)}/13",
                                 "the cell follows the scale", 30)
            assert pane.table.get_cell(net.key, "addrs").style == "bold red"
    finally:
        d(n2, "rm", "--force", "addrctr", check=False)
        d(n1, "service", "rm", name, check=False)
        remove_network(n1, "addrpane")


async def test_a_create_or_scale_the_subnet_cannot_hold_is_refused_on_the_form_and_never_sent(swarm, tmp_path):
    from pilot_helpers import cell, error_text, form, open_form, sandbox_app, select_row, set_fields, shown, started
    from pilot_helpers import submit, type_text
    from pilot_helpers import wait_for as wait_on_screen

    from carina_tui.ui.panes.services import CreateServiceScreen, ScaleScreen
    from carina_tui.ui.screens import TextScreen

    n1, _, n3 = swarm.nodes
    d(n1, "network", "create", "--driver", "overlay", "--subnet", "10.77.4.0/29", "tinyfit")
    name = service(n1, "fitting", "--replicas", "2", "--network", "tinyfit",
                   "--constraint", f"node.hostname=={n3.name}")

    def replicas() -> int:
        return json.loads(d(n1, "service", "inspect", name))[0]["Spec"]["Mode"]["Replicated"]["Replicas"]

    try:
        wait_for("both tasks run", lambda: len(running_tasks(n1, name)) == 2)
        wait_for("the endpoints show", lambda: len(verbose_addresses(swarm, "tinyfit", "10.77.4.")) == 4)
        app = sandbox_app(swarm)
        app.session.guard.audit = AuditLog(tmp_path / "audit.log")
        async with app.run_test(size=(160, 50)) as pilot:
            await started(pilot)
            net = await shown(pilot, "networks", "tinyfit")
            await wait_on_screen(pilot, lambda: cell(app, "networks", net.key, "addrs") == "4/5", "the cell shows 4/5")
            assert app.pane("networks").table.get_cell(net.key, "addrs").style == "bold red"  # 80 %
            await select_row(pilot, "networks", "tinyfit")
            await pilot.press("enter")
            details = await wait_on_screen(pilot, lambda: isinstance(app.screen, TextScreen) and app.screen,
                                           "enter opens the network's details")
            body = details.body.plain
            assert "4/5 (80%) in use on every node: 2 tasks, 1 load balancer, 1 virtual IP" in body
            assert "Network tinyfit (10.77.4.0/29) uses 4 of its 5 addresses (80%) and has 1 free address left" in body
            await pilot.press("escape")

            # scale: two more tasks on n3 need two addresses, one is free
            await pilot.press("5")
            await select_row(pilot, "services", name)
            await open_form(pilot, "S", ScaleScreen)
            await type_text(pilot, "replicas", "4")
            said = await submit(pilot)
            assert said.startswith("Network tinyfit (10.77.4.0/29) has 1 free address of 5, and scaling fitting to 4 "
                                   "needs 2 (2 tasks): Swarm would leave the tasks pending"), said
            await pilot.press("escape")
            assert replicas() == 2

            # create: one task, but on a node new to the network (no constraint: Swarm spreads) needs its load balancer
            await open_form(pilot, "N", CreateServiceScreen)
            set_fields(form(app), name="overflow", image=BUSYBOX_IMAGE, replicas="1", networks=["tinyfit"])
            said = await submit(pilot)
            assert "creating service overflow needs 2 (1 task and 1 load balancer for a node new to the network)" \
                in said, said
            assert "overflow" not in d(n1, "service", "ls", "--format", "{{.Name}}").split()
            await pilot.press("escape")

            # what fits is sent: one more task on n3, which has its load balancer
            await open_form(pilot, "S", ScaleScreen)
            await type_text(pilot, "replicas", "3")
            assert await submit(pilot) == "", error_text(app)
            assert replicas() == 3
        assert [(a["action"], a["target_name"], a["outcome"]) for a in audit_lines(app.session)] == [
            ("service.scale", f"service {name}", "done")]  # the refusals never reached the guard, nor the engine
    finally:
        d(n1, "service", "rm", name, check=False)
        remove_network(n1, "tinyfit")
