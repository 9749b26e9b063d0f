"""No code path around the guard, proven on the source (ast), so a new one cannot be added.

* Only ``guard.py`` issues permits (``permit.issue``); nobody else builds a ``Permit``
  or touches the seal.
* Every DockerGateway method that calls a docker-py method which changes the engine
  takes a permit and calls ``require(permit, "<its action>", ...)`` before anything else.
* Outside guard.py, no module calls a mutating DockerGateway method, and outside the
  gateway no module calls a mutating docker-py method (``<x>.api.remove_container``).
* A permit for one action or target does not open another.

Each checker is also run on a small bad example, to show it would catch one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import carina_tui
from carina_tui.core.errors import GuardBypass
from carina_tui.core.permit import Permit, issue, require

PACKAGE = Path(carina_tui.__file__).parent
GATEWAY = PACKAGE / "gateways" / "docker_gateway.py"
SWARM_GATEWAY = PACKAGE / "gateways" / "swarm_gateway.py"  # DockerGateway's services and tasks (a mixin)
EXEC = PACKAGE / "gateways" / "exec_gateway.py"  # DockerGateway's shell and stats methods (ExecMixin)
STORAGE = PACKAGE / "gateways" / "storage.py"  # DockerGateway's images and volumes (StorageGateway)
GATEWAYS = {GATEWAY: "DockerGateway", SWARM_GATEWAY: "SwarmGateway", EXEC: "ExecMixin", STORAGE: "StorageGateway"}
GUARD = PACKAGE / "guard.py"
PERMIT = PACKAGE / "core" / "permit.py"

# docker-py APIClient methods that only read (or build request bodies): everything else changes the engine.
DOCKER_READS = frozenset({
    "ping", "info", "version", "containers", "inspect_container", "networks", "inspect_network", "images",
    "inspect_image", "nodes", "inspect_node", "events", "logs", "close", "exec_inspect", "df", "top", "stats",
    "port", "volumes", "inspect_volume", "services", "tasks", "create_host_config", "create_networking_config",
    "create_endpoint_config", "inspect_service", "service_logs", "inspect_task",
})


def sources() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))}


def _api_calls(node: ast.AST) -> list[str]:
    """Names of ``<something>.api.<name>(...)`` and ``api.<name>(...)`` calls under ``node``; a request
    on the gateway's own keep-alive connections counts as a write (``_keepalive.request``), except
    ``_keepalive.get`` and ``_keepalive.stream``, which can only send GET; so does a request on a
    connection of the gateway's own (``self._ask(what, "POST", ...)``) unless it is a GET or a HEAD."""
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            owner = sub.func.value
            if sub.func.attr == "_ask":
                method = sub.args[1] if len(sub.args) > 1 else None
                if not (isinstance(method, ast.Constant) and method.value in ("GET", "HEAD")):
                    out.append(f"_ask {ast.unparse(method) if method is not None else '?'}")
            if (isinstance(owner, ast.Attribute) and owner.attr == "_keepalive"
                    and sub.func.attr not in ("close", "get", "stream")):
                out.append(f"_keepalive.{sub.func.attr}")
            if (isinstance(owner, ast.Attribute) and owner.attr == "api") or (
                    isinstance(owner, ast.Name) and owner.id == "api"):
                out.append(sub.func.attr)
    return out


def gateway_problems(tree: ast.Module, name: str = "DockerGateway") -> tuple[set[str], list[str]]:
    """The gateway's mutating methods, and every way one of its methods is unguarded."""
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    mutating, problems = set(), []
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        params = [a.arg for a in fn.args.args]
        writes = [name for name in _api_calls(fn) if name not in DOCKER_READS]
        takes_permit = len(params) > 1 and params[1] == "permit"
        if not writes and not takes_permit:
            continue
        mutating.add(fn.name)
        if not takes_permit:
            problems.append(f"{fn.name} calls docker-py {writes} without taking a permit first")
            continue
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        first = body[0] if body else None
        ok = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
              and isinstance(first.value.func, ast.Name) and first.value.func.id == "require"
              and len(first.value.args) == 3 and isinstance(first.value.args[0], ast.Name)
              and first.value.args[0].id == "permit" and isinstance(first.value.args[1], ast.Constant))
        if not ok:
            problems.append(f"{fn.name} does not start with require(permit, \"<action>\", <target>)")
    return mutating, problems


def bypasses(path: Path, tree: ast.Module, mutating: set[str]) -> list[str]:
    """Calls that go around the guard in one module (guard.py and permit.py may issue permits)."""
    where = path.relative_to(PACKAGE.parent)
    out = []
    for node in ast.walk(tree):
        if path not in (GUARD, PERMIT):
            if isinstance(node, ast.ImportFrom) and node.module == "carina_tui.core.permit":
                for alias in node.names:
                    if alias.name in ("issue", "_SEAL"):
                        out.append(f"{where}:{node.lineno} imports {alias.name}")
            if isinstance(node, ast.Attribute) and node.attr in ("issue", "_SEAL") and \
                    isinstance(node.value, ast.Name) and node.value.id == "permit":
                out.append(f"{where}:{node.lineno} uses permit.{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Permit":
                out.append(f"{where}:{node.lineno} builds a Permit")
        if path not in GATEWAYS:
            for name in _api_calls(node) if isinstance(node, ast.Call) else ():
                if name not in DOCKER_READS:
                    out.append(f"{where}:{node.lineno} calls docker-py {name} directly")
        if path != GUARD and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in mutating:
            receiver = ast.unparse(node.func.value)
            if receiver == "api" or receiver.endswith(".api"):
                continue  # docker-py's own method of the same name: checked above
            if "guard" not in receiver.lower() and not receiver.endswith("app"):  # the app's own guarded flows
                out.append(f"{where}:{node.lineno} calls {receiver}.{node.func.attr} outside the guard")
    return out


def all_mutating(trees: dict[Path, ast.Module] | None = None) -> tuple[set[str], list[str]]:
    """The mutating methods of every gateway module, and their problems."""
    mutating, problems = set(), []
    for path, name in GATEWAYS.items():
        found, wrong = gateway_problems(trees[path] if trees else ast.parse(path.read_text()), name)
        mutating |= found
        problems += wrong
    return mutating, problems


def test_every_mutating_gateway_method_demands_its_permit_first():
    mutating, problems = all_mutating()
    assert problems == []
    # the ones issue 4 names are among them, the services' (issue 15), a shell, images and volumes (issue 16)
    assert {"remove_image", "remove_volume"} <= mutating
    assert {"remove_container", "stop_container", "kill_container", "pause_container", "restart_container",
            "rename_container", "update_container", "disconnect_network", "remove_network"} <= mutating
    assert {"create_service", "scale_service", "update_service_image", "restart_service",
            "remove_service", "update_node_availability", "open_shell", "resize_shell"} <= mutating


def test_the_keepalive_get_can_only_send_a_get():
    """``_keepalive.get`` counts as a read above: it must stay one."""
    tree = ast.parse((PACKAGE / "gateways" / "unix_http.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "UnixKeepAlive")
    get = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "get")
    body = [s for s in get.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    assert [ast.unparse(s) for s in body] == ["return self._send('GET', target)"]


def test_no_module_but_the_guard_issues_permits_or_calls_mutating_methods():
    trees = sources()
    mutating, _ = all_mutating(trees)
    found = [problem for path, tree in trees.items() for problem in bypasses(path, tree, mutating)]
    assert found == []


def test_only_the_gateways_import_docker():
    offenders = []
    for path, tree in sources().items():
        if PACKAGE / "gateways" in path.parents:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "docker" or n.startswith("docker.") for n in names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


BAD_GATEWAY = '''
class DockerGateway:
    def ping(self):
        return self.api.ping()

    def prune_containers(self):
        return self.api.prune_containers()

    def delete_quickly(self, container_id):
        return self._keepalive.request("DELETE", "/containers/" + container_id)

    def look(self, container_id):
        return self._keepalive.get("/containers/" + container_id + "/json")

    def holds(self, container_id):
        return self._ask("look", "HEAD", "/containers/" + container_id + "/archive")

    def hijack(self, exec_id):
        return self._ask("start", "POST", "/exec/" + exec_id + "/start", upgrade=True)

    def stop_container(self, permit, container_id):
        with self._call("stop"):
            self.api.stop(container_id)
        require(permit, "container.stop", container_id)
'''

BAD_MODULE = '''
from carina_tui.core.permit import issue
from carina_tui.core import permit

def sneaky(session, c):
    session.gateways[c.endpoint].remove_container(issue("container.remove", c.id), c.id)
    gw.api.remove_container(c.id)
    permit.Permit("container.stop", c.id, permit._SEAL)
    session.guard.remove(c)  # this one is fine
'''


def test_the_checkers_catch_a_bypass():
    mutating, problems = gateway_problems(ast.parse(BAD_GATEWAY))
    assert mutating == {"prune_containers", "stop_container", "delete_quickly", "hijack"}
    assert len(problems) == 4
    found = bypasses(PACKAGE / "ui" / "sneaky.py", ast.parse(BAD_MODULE), {"remove_container"})
    kinds = sorted(p.split(" ", 1)[1] for p in found)
    assert kinds == [
        "calls docker-py remove_container directly",
        "calls session.gateways[c.endpoint].remove_container outside the guard",
        "imports issue",
        "uses permit._SEAL",
    ]


@pytest.mark.parametrize("permit", [
    None,
    Permit("container.remove", "abc"),  # not sealed by the guard
    issue("container.start", "abc"),  # another action
    issue("container.remove", "abd"),  # another target
])
def test_a_permit_opens_exactly_its_action_on_its_target(permit):
    with pytest.raises(GuardBypass) as err:
        require(permit, "container.remove", "abc")
    assert "without the protection guard's permit" in str(err.value)
    require(issue("container.remove", "abc"), "container.remove", "abc")


def test_a_gateway_call_without_a_permit_is_stopped_before_the_engine(docker_host, scratch, test_engine):
    from carina_tui.gateways.docker_gateway import DockerGateway

    name = scratch.exited("victim")
    cid = test_engine.ids(f"name={name}")[0]
    gateway = DockerGateway(docker_host)
    with pytest.raises(GuardBypass):
        gateway.remove_container(Permit("container.remove", cid), cid)
    with pytest.raises(GuardBypass):
        gateway.remove_container(issue("container.remove", "another"), cid)
    assert test_engine.ids(f"name={name}") == [cid]
