"""The Consul gateway against the Consul HTTP API test double (no real Consul here).

Each way the agent can answer (normally, 403, 500, slowly, broken JSON, not at
all) has a test that checks the exact sentence the user would read, and that
the ACL token never appears in it.
"""

from __future__ import annotations

import threading
import time

import pytest

from carina_tui.consul_double import ConsulDouble
from carina_tui.core.errors import ConsulProblem
from carina_tui.gateways.consul_gateway import ConsulGateway, Watch, parse_address

TOKEN = "s3cr3t-7c1e-token"
AGENT = "agent information (/v1/agent/self)"


@pytest.fixture
def double():
    d = ConsulDouble(node_name="carina-n1", address="10.0.0.11").start()
    d.seed_libnetwork()
    yield d
    d.stop()


@pytest.fixture
def gateway(double):
    g = ConsulGateway(double.url, token=TOKEN, timeout=2.0)
    yield g
    g.close()


def problem_of(call) -> ConsulProblem:
    with pytest.raises(ConsulProblem) as caught:
        call()
    return caught.value


def assert_no_token(err: ConsulProblem) -> None:
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err.args)


# --- normal answers ---------------------------------------------------------------------


def test_agent_self_members_leader_peers(gateway, double):
    agent = gateway.agent_self()
    assert (agent.node_name, agent.datacenter, agent.version, agent.role, agent.address) == (
        "carina-n1",
        "dc1",
        "0.6.4",
        "server",
        "10.0.0.11",
    )
    members = gateway.members()
    assert [(m.name, m.addr, m.port, m.status, m.role) for m in members] == [
        ("carina-n1", "10.0.0.11", 8301, "alive", "server"),
        ("carina-n2", "10.0.0.12", 8301, "alive", "server"),
        ("carina-n3", "10.0.0.13", 8301, "alive", "server"),
    ]
    assert gateway.leader() == "10.0.0.11:8300"
    assert gateway.peers() == ("10.0.0.11:8300", "10.0.0.12:8300", "10.0.0.13:8300")


def test_member_status_words_follow_serf_codes(gateway, double):
    double.set_member_status("carina-n2", "failed")
    double.set_member_status("carina-n3", "left")
    double.add_node("carina-n4", "10.0.0.14", server=False, status="leaving")
    by_name = {m.name: m for m in gateway.members()}
    assert (by_name["carina-n2"].status, by_name["carina-n2"].status_code) == ("failed", 4)
    assert by_name["carina-n3"].status == "left"
    assert (by_name["carina-n4"].status, by_name["carina-n4"].role) == ("leaving", "client")


def test_nodes_and_checks_carry_the_index(gateway, double):
    index, nodes = gateway.nodes()
    assert [n.node for n in nodes] == ["carina-n1", "carina-n2", "carina-n3"]
    assert index > 0
    double.set_member_status("carina-n3", "failed")
    checks_index, checks = gateway.checks()
    serf = {c.node: c for c in checks if c.check_id == "serfHealth"}
    assert serf["carina-n3"].status == "critical"
    assert serf["carina-n3"].output == "Agent not live or unreachable"
    assert serf["carina-n1"].status == "passing"
    assert checks_index > index


def test_kv_values_are_bytes_and_empty_prefix_is_empty(gateway, double):
    double.put_kv("docker/test/binary", b"\x00\xff\x10")
    double.put_kv("docker/test/dir/", None)
    index, entries = gateway.kv("docker/test/")
    assert [(e.key, e.value) for e in entries] == [("docker/test/binary", b"\x00\xff\x10"), ("docker/test/dir/", None)]
    assert index == max(e.modify_index for e in entries)
    nothing_index, nothing = gateway.kv("nothing/here/")
    assert nothing == ()
    assert nothing_index > 0


def test_snapshot_holds_everything_with_indexes(gateway):
    snap = gateway.snapshot()
    assert snap.address == gateway.address
    assert snap.agent.node_name == "carina-n1"
    assert snap.has_leader and not snap.stale and snap.problems == ()
    assert len(snap.members) == 3 and len(snap.nodes) == 3 and len(snap.checks) == 3
    assert any(e.key.startswith("docker/network/v1.0/network/") for e in snap.kv)
    assert all(isinstance(v, int) for v in snap.indexes.values())
    doc = snap.as_json()
    assert doc["leader"] == "10.0.0.11:8300"
    assert [m["status"] for m in doc["members"]] == ["alive"] * 3


def test_snapshot_without_leader_reads_stale_and_says_so(gateway, double):
    double.set_leader("")
    snap = gateway.snapshot()
    assert snap.leader == "" and not snap.has_leader
    assert snap.stale
    assert snap.problems == ()
    assert len(snap.checks) == 3 and snap.kv  # stale reads still show the data


def test_without_leader_a_consistent_read_fails_with_the_advice(gateway, double):
    double.set_leader("")
    err = problem_of(lambda: gateway.kv())
    assert str(err) == (
        f"Consul at {double.url} failed the request for the KV store under docker/ (HTTP 500: No cluster "
        "leader); the cluster has no leader: start the stopped Consul agents so that the servers can elect one."
    )


def test_snapshot_keeps_going_when_only_the_kv_is_denied(gateway, double):
    double.fail("forbidden", paths=["/v1/kv/"])
    snap = gateway.snapshot()
    assert snap.kv == () and snap.kv_index is None
    assert [q for q, _ in snap.problems] == ["kv"]
    assert dict(snap.problems)["kv"] == (
        f"Consul at {double.url} refused the request for the KV store under docker/: permission denied "
        "(HTTP 403); use an ACL token that may read it (set CONSUL_HTTP_TOKEN or consul_token in the "
        "cluster's config)."
    )
    assert len(snap.members) == 3


# --- failures: one sentence each -----------------------------------------------------------


def test_403_names_the_token_setting_but_not_the_token(gateway, double):
    double.fail("forbidden")
    err = problem_of(gateway.agent_self)
    assert str(err) == (
        f"Consul at {double.url} refused the request for {AGENT}: permission denied (HTTP 403); use an ACL "
        "token that may read it (set CONSUL_HTTP_TOKEN or consul_token in the cluster's config)."
    )
    assert err.reason == "denied"
    assert_no_token(err)


def test_403_without_any_token_says_none_is_set(double):
    double.acl_token = TOKEN
    err = problem_of(ConsulGateway(double.url).members)
    assert str(err) == (
        f"Consul at {double.url} refused the request for the member list (/v1/agent/members): permission "
        "denied (HTTP 403); no ACL token is set: set CONSUL_HTTP_TOKEN or consul_token in the cluster's config."
    )


def test_500_shows_consuls_message(gateway, double):
    double.fail("error", body="rpc error: rpc error making call: EOF")
    err = problem_of(gateway.leader)
    assert str(err) == (
        f"Consul at {double.url} failed the request for the leader (/v1/status/leader) (HTTP 500: rpc error: "
        "rpc error making call: EOF); check the agent with `docker logs carina-svcd` and try again."
    )
    assert err.reason == "server-error"


def test_500_body_that_echoes_the_token_is_scrubbed(gateway, double):
    double.fail("error", body=f"ACL token {TOKEN} is expired")
    err = problem_of(gateway.agent_self)
    assert_no_token(err)
    assert "(HTTP 500: ACL token *** is expired)" in str(err)


def test_slow_answer_times_out(double):
    double.fail("slow", delay=30)
    gateway = ConsulGateway(double.url, token=TOKEN, timeout=0.3)
    err = problem_of(gateway.peers)
    assert str(err) == (
        f"Consul at {double.url} did not answer the request for the Raft peers (/v1/status/peers) within 0.3 s: "
        "the agent may be overloaded or hung; check the agent with `docker logs carina-svcd`, or raise the timeout."
    )
    assert err.reason == "timeout"
    assert_no_token(err)


def test_slow_but_within_the_timeout_is_fine(double):
    double.fail("slow", delay=0.2)
    assert ConsulGateway(double.url, timeout=5).leader() == "10.0.0.11:8300"


def test_broken_json(gateway, double):
    double.fail("broken_json")
    err = problem_of(gateway.agent_self)
    assert str(err) == (
        f"Consul at {double.url} answered the request for {AGENT} with something that is not JSON: check that "
        "the address points at Consul's HTTP API (port 8500) and not at another service."
    )
    assert err.reason == "not-json"
    assert_no_token(err)


def test_broken_json_on_a_blocking_endpoint(gateway, double):
    double.fail("broken_json", paths=["/v1/health/"])
    err = problem_of(gateway.checks)
    assert str(err).startswith(
        f"Consul at {double.url} answered the request for the health checks (/v1/health/state/any) with "
        "something that is not JSON"
    )


def test_json_of_the_wrong_shape(gateway, double):
    double.set_members([{"Name": "n1", "Port": "not a number"}])
    err = problem_of(gateway.members)
    assert str(err) == (
        f"Consul at {double.url} answered the request for the member list (/v1/agent/members) with data that "
        "is not what Consul sends: check that the address points at a Consul agent's HTTP API."
    )


def test_connection_closed_without_an_answer(gateway, double):
    double.fail("drop")
    err = problem_of(gateway.agent_self)
    assert str(err) == (
        f"Consul at {double.url} closed the connection without answering the request for {AGENT}: the agent "
        "may be restarting or crashing; check the agent with `docker logs carina-svcd` and try again."
    )
    assert err.reason == "closed"
    assert_no_token(err)


def test_nobody_listening(gateway, double):
    double.stop_listening()
    err = problem_of(gateway.agent_self)
    assert str(err) == (
        f"Cannot reach Consul at {double.url}: the connection was refused while asking for {AGENT}. Start the "
        "node's Consul agent (`s` on carina-svcd) or check the address."
    )
    assert err.reason == "unreachable"
    assert_no_token(err)
    double.resume_listening()
    assert gateway.agent_self().node_name == "carina-n1"


def test_snapshot_fails_as_a_whole_when_the_agent_does_not_answer(gateway, double):
    double.stop_listening()
    err = problem_of(gateway.snapshot)
    assert str(err).startswith(f"Cannot reach Consul at {double.url}: the connection was refused")


# --- the token -----------------------------------------------------------------------------


def test_token_is_sent_on_every_endpoint_and_never_shown(double):
    double.acl_token = TOKEN
    gateway = ConsulGateway(double.url, token=TOKEN)
    snap = gateway.snapshot()  # every endpoint would answer 403 without the token
    assert snap.problems == ()
    paths = {r.path for r in double.seen if r.token == TOKEN}
    assert {"/v1/agent/self", "/v1/agent/members", "/v1/status/leader", "/v1/status/peers",
            "/v1/catalog/nodes", "/v1/health/state/any", "/v1/kv/docker/"} <= paths
    assert TOKEN not in repr(gateway)


def test_wrong_token(double):
    double.acl_token = TOKEN
    gateway = ConsulGateway(double.url, token="wr0ng-t0ken")
    err = problem_of(gateway.agent_self)
    assert "permission denied (HTTP 403); use an ACL token that may read it" in str(err)
    assert "wr0ng-t0ken" not in str(err)


def test_token_from_the_environment(double, monkeypatch):
    double.acl_token = TOKEN
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", TOKEN)
    assert ConsulGateway(double.url).agent_self().node_name == "carina-n1"


def test_token_argument_wins_over_the_environment(double, monkeypatch):
    double.acl_token = TOKEN
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", "env-token-that-is-wrong")
    assert ConsulGateway(double.url, token=TOKEN).members()
    assert {r.token for r in double.seen} == {TOKEN}


# --- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://10.0.0.11:8500", ("http", "10.0.0.11", 8500)),
        ("10.0.0.11:8600", ("http", "10.0.0.11", 8600)),
        ("consul.local", ("http", "consul.local", 8500)),
        ("https://consul.local", ("https", "consul.local", 8501)),
        ("http://[::1]:8500/", ("http", "::1", 8500)),
    ],
)
def test_parse_address(given, expected):
    assert parse_address(given) == expected


@pytest.mark.parametrize(
    ("given", "sentence"),
    [
        ("", 'No Consul address is set: put consul = "http://host:8500" in the cluster\'s config.'),
        ("ftp://host:21", "The Consul address 'ftp://host:21' is not valid: write it as http://host:8500."),
        ("http://host:99999", "The Consul address 'http://host:99999' has an invalid port: write it as http://host:8500."),
        ("http://host:8500/v1/kv", "The Consul address 'http://host:8500/v1/kv' is not valid: write it as http://host:8500."),
    ],
)
def test_bad_addresses_say_how_to_write_one(given, sentence):
    err = problem_of(lambda: ConsulGateway(given))
    assert str(err) == sentence


def test_address_with_credentials_is_refused_without_echoing_them():
    err = problem_of(lambda: ConsulGateway("http://admin:hunter2@host:8500"))
    assert "hunter2" not in str(err)
    assert str(err).startswith("The Consul address carries a user name or password")


def test_bad_wait_is_a_programming_error(gateway):
    with pytest.raises(ValueError):
        gateway.checks(index=5, wait="thirty seconds")


# --- blocking queries ------------------------------------------------------------------------


def run_in_thread(fn):
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def test_blocking_checks_return_when_a_check_changes_and_not_before(gateway, double):
    index, before = gateway.checks()
    thread, box = run_in_thread(lambda: gateway.checks(index=index, wait="20s"))
    thread.join(0.4)
    assert thread.is_alive(), "the blocking query returned although nothing changed"
    double.set_check("carina-n2", "serfHealth", "critical", output="Agent not live or unreachable")
    thread.join(10)
    assert not thread.is_alive()
    new_index, after = box["value"]
    assert new_index > index
    assert after != before
    assert {c.node: c.status for c in after}["carina-n2"] == "critical"


def test_blocking_kv_returns_on_a_write_under_the_prefix(gateway, double):
    index, _ = gateway.kv("docker/network/")
    thread, box = run_in_thread(lambda: gateway.kv("docker/network/", index=index, wait="20s"))
    thread.join(0.3)
    assert thread.is_alive()
    double.put_kv("docker/network/v1.0/network/abc/", b"{}")
    thread.join(10)
    new_index, entries = box["value"]
    assert new_index > index
    assert "docker/network/v1.0/network/abc/" in {e.key for e in entries}


def test_blocking_query_returns_the_same_index_when_the_wait_runs_out(gateway):
    index, before = gateway.nodes()
    again, after = gateway.nodes(index=index, wait="100ms")
    assert (again, after) == (index, before)


def test_watch_returns_at_once_then_only_on_real_changes(gateway, double):
    watch = gateway.watch_checks(wait="200ms")
    first = watch.next()
    assert first is not None
    thread, box = run_in_thread(watch.next)
    # The same checks written again move the index but not the data: no return.
    _, checks = first
    double.set_checks(
        [
            {"Node": c.node, "CheckID": c.check_id, "Name": c.name, "Status": c.status, "Output": c.output,
             "ServiceID": "", "ServiceName": "", "Notes": "", "ServiceTags": []}
            for c in checks
        ]
    )
    thread.join(0.6)
    assert thread.is_alive(), "the watch returned although the checks did not change"
    double.set_check("carina-n1", "service:web", "warning", name="web", output="HTTP 503")
    thread.join(10)
    assert not thread.is_alive()
    _, changed = box["value"]
    assert ("carina-n1", "service:web", "warning") in {(c.node, c.check_id, c.status) for c in changed}


def test_watch_resets_when_the_index_goes_backwards(gateway, double):
    watch = gateway.watch_checks(wait="200ms")
    first_index, _ = watch.next()
    double.restart_with_index(3)  # agent restored from an older snapshot
    thread, box = run_in_thread(watch.next)
    thread.join(0.8)
    assert thread.is_alive()  # same checks under a lower index: nothing to report
    double.set_check("carina-n2", "serfHealth", "critical")
    thread.join(10)
    new_index, checks = box["value"]
    assert watch.resets == 1
    assert new_index < first_index
    assert {c.node: c.status for c in checks}["carina-n2"] == "critical"


def test_watch_reports_kv_renumbered_by_a_restore_then_blocks_from_there(gateway, double):
    watch = gateway.watch_kv("docker/", wait="200ms")
    first_index, _ = watch.next()
    double.restart_with_index(3)
    index, entries = watch.next()  # the modify indexes changed: that is a change
    assert watch.resets == 1
    assert index == 3 < first_index
    assert {e.modify_index for e in entries} == {3}
    thread, box = run_in_thread(watch.next)
    thread.join(0.5)
    assert thread.is_alive()
    double.put_kv("docker/network/v1.0/network/new/", b"{}")
    thread.join(10)
    assert "docker/network/v1.0/network/new/" in {e.key for e in box["value"][1]}


def test_watch_stops_when_told(gateway):
    watch = gateway.watch_nodes(wait="100ms")
    watch.next()
    stop = threading.Event()
    thread, box = run_in_thread(lambda: watch.next(stop))
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert box == {"value": None}


def test_watch_raises_and_resumes(gateway, double):
    watch = gateway.watch_checks(wait="100ms")
    watch.next()
    double.stop_listening()
    with pytest.raises(ConsulProblem):
        watch.next()
    double.resume_listening()
    double.set_check("carina-n1", "extra", "passing")
    _, checks = watch.next()
    assert "extra" in {c.check_id for c in checks}


def test_watch_over_a_fake_fetch_handles_index_zero():
    answers = iter([(0, ("a",)), (0, ("a",)), (5, ("b",))])
    seen_indexes = []

    def fetch(index, wait):
        seen_indexes.append(index)
        return next(answers)

    watch = Watch(fetch, wait="1s")
    assert watch.next() == (0, ("a",))
    assert watch.next() == (5, ("b",))
    assert seen_indexes == [None, 1, 1]  # an index of 0 blocks from 1, never spins on 0


def test_one_gateway_serves_several_threads(gateway):
    results = []
    errors = []

    def work():
        try:
            for _ in range(3):
                results.append(gateway.snapshot().agent.node_name)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == ["carina-n1"] * 12


def test_only_the_consul_gateway_imports_consul():
    import ast
    from pathlib import Path

    import carina_tui

    package = Path(carina_tui.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n == "consul" or n.startswith("consul.") for n in names):
                offenders.append(str(path.relative_to(package)))
    assert sorted(set(offenders)) == ["gateways/consul_gateway.py"]


def test_abort_ends_a_blocking_query_in_another_thread_at_once(gateway):
    """A blocking query holds its connection for the whole wait; abort() shuts its socket."""
    watch = gateway.watch_checks(wait="5m")
    watch.next()
    thread, box = run_in_thread(watch.next)
    time.sleep(0.3)  # let it block
    assert thread.is_alive()
    gateway.abort()
    thread.join(5)  # a hang bound: without abort it would block for 5 minutes
    assert not thread.is_alive()
    assert isinstance(box.get("error"), ConsulProblem), box
    assert isinstance(problem_of(gateway.agent_self), ConsulProblem), "an aborted gateway takes no new request"


def test_the_consul_watch_calls_back_on_a_change_and_its_thread_ends_on_stop(double):
    from carina_tui.system_report import ConsulWatch

    changed = threading.Event()
    watch = ConsulWatch(double.url, TOKEN, changed.set, wait="5m").start()
    assert watch.thread.name == f"carina-consul:{double.url}" and watch.thread.daemon
    deadline = time.monotonic() + 10
    while watch._watch.index is None and time.monotonic() < deadline:  # its first answer is the start
        time.sleep(0.01)
    double.set_check("carina-n1", "extra", "critical")
    assert changed.wait(10)
    watch.stop()
    watch.thread.join(5)  # a hang bound: the blocking query waits 5 minutes
    assert not watch.thread.is_alive()
