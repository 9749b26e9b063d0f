"""Cleanup of 1,000 exited containers against `docker rm` of the same number, in one run.

Not a test. Starts a private engine of its own (network namespace, data root and
socket of its own; needs root), imports the busybox image, then per round:

1. creates N exited containers and times ONE `docker rm ID1 ... IDN` call;
2. creates N exited containers again and times our cleanup: list + plan
   (`plan_cleanup`) + execute (`carina_tui.services.runner.execute`: every container
   re-inspected by the guard, removed with force=False, audited).

It prints both times and the ratio (target: at most 1.1x `docker rm`), and stops
the engine at the end. The audit log goes to a temporary folder.

Making 1,000 containers loads the machine (the engine's disk writes go on after the
last one exited), and the time after it is what both sides are measured in. With
``--settle S`` each timing waits first, for at most S seconds, until the dirty pages
are written out and the engine's processes (dockerd, containerd) used under 5 % of
a core for a second: then `docker rm` and the cleanup start from the same quiet
state. Each timing also prints the engine's own CPU seconds over it.

    python benchmarks/cleanup_vs_docker_rm.py [--count 1000] [--rounds 1] [--per-engine 8 ...] [--settle 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # noqa: E402 - the benchmark fills the engine with docker-py directly

from carina_tui.sandbox import engine as eng  # noqa: E402
from carina_tui.sandbox.images import BUSYBOX_IMAGE, ensure_local_images  # noqa: E402

LABEL = "carina.bench"


def make_exited(url: str, count: int) -> list[str]:
    """``count`` containers that ran ``true`` and exited; returns their ids."""
    api = docker.APIClient(base_url=url, version="auto", timeout=120)
    tag = secrets.token_hex(3)

    def one(i: int) -> str:
        # No network: starting is then quick to set up, and removal costs the same.
        cid = api.create_container(BUSYBOX_IMAGE, ["true"], name=f"bench-{tag}-{i}", labels={LABEL: tag},
                                   host_config=api.create_host_config(network_mode="none"))["Id"]
        api.start(cid)
        return cid

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(count)))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        running = api.containers(filters={"label": f"{LABEL}={tag}", "status": "running"}, quiet=True)
        if not running:
            break
        time.sleep(0.2)
    states = {c["State"] for c in api.containers(all=True, filters={"label": f"{LABEL}={tag}"})}
    api.close()
    if states != {"exited"}:
        raise SystemExit(f"the benchmark containers did not all exit: {sorted(states)}")
    return ids


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _engine_cpu(started) -> float:
    """CPU seconds used so far by the engine's processes (those in its network namespace)."""
    ticks = 0
    for pid in eng.netns_pids(started.netns):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(started, limit: float) -> float:
    """Wait (at most ``limit`` s) until the page cache is written out and the engine is quiet; the seconds waited."""
    if limit <= 0:
        return 0.0
    start = time.monotonic()
    os.sync()
    before = _engine_cpu(started)
    while time.monotonic() - start < limit:
        time.sleep(1.0)
        now = _engine_cpu(started)
        if now - before < 0.05:
            break
        before = now
    return time.monotonic() - start


def time_docker_rm(url: str, ids: list[str]) -> tuple[float, float]:
    """Seconds, and CPU seconds of the docker CLI."""
    cpu, start = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(["docker", "-H", url, "rm", *ids], check=True, stdout=subprocess.DEVNULL,
                   env=eng.clean_env())
    return time.perf_counter() - start, _cpu(resource.RUSAGE_CHILDREN) - cpu


def time_cleanup(url: str, expected: int, per_engine: int) -> tuple[float, float, str]:
    """Seconds, CPU seconds of this process (the client side), and the summary."""
    from carina_tui.services.runner import execute
    from carina_tui.core.planner import plan_cleanup
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.services.session import Session

    session = Session(ClusterSpec("bench", "cli", (url,)))
    session.gateways[url].ping()  # connect first, as the console or CLI already has by then
    cpu, start = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    snapshot = session.snapshot()
    plan = plan_cleanup(snapshot.containers, session.guard.rules)
    result = execute(session.guard, plan.to_remove, per_engine=per_engine)
    elapsed, used = time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu
    session.close()
    if len(result.removed) != expected or result.failed or result.skipped:
        raise SystemExit(f"cleanup did not remove exactly the {expected} containers: {result.summary()}")
    return elapsed, used, result.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--per-engine", type=int, nargs="+", default=[8],
                        help="pool sizes to try (removals at once per engine)")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="before each timing, wait at most this long for the disk and the engine to be quiet")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("This benchmark starts a private dockerd and needs root.", file=sys.stderr)
        return 2
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="carina-bench-state-")
    folder = Path(tempfile.mkdtemp(prefix="carina-bench-", dir="/tmp"))
    name = f"bench-{os.getpid()}"
    print(f"starting a private engine {name} in {folder} ...", flush=True)
    started = eng.start_engine(name, folder / "engine", address_pool="10.250.0.0/16")
    try:
        ensure_local_images(started.url)
        for rnd in range(opts.rounds):
            for per_engine in opts.per_engine:
                ids = make_exited(started.url, opts.count)
                waited_rm, load_rm = settle(started, opts.settle), os.getloadavg()[0]
                engine_cpu = _engine_cpu(started)
                rm, rm_cpu = time_docker_rm(started.url, ids)
                rm_engine = _engine_cpu(started) - engine_cpu
                make_exited(started.url, opts.count)
                waited, load = settle(started, opts.settle), os.getloadavg()[0]
                engine_cpu = _engine_cpu(started)
                ours, ours_cpu, summary = time_cleanup(started.url, opts.count, per_engine)
                ours_engine = _engine_cpu(started) - engine_cpu
                print(f"round {rnd + 1}, {opts.count} exited containers, pool {per_engine} per engine "
                      f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; at the start of "
                      f"docker rm {load_rm:.1f} after {waited_rm:.0f} s settling, of the cleanup {load:.1f} "
                      f"after {waited:.0f} s):\n"
                      f"  docker rm (one call, all ids):          {rm:6.2f} s  (client CPU {rm_cpu:.2f} s, "
                      f"engine CPU {rm_engine:.2f} s)\n"
                      f"  carina-tui cleanup (plan + re-checks):  {ours:6.2f} s  (client CPU {ours_cpu:.2f} s, "
                      f"engine CPU {ours_engine:.2f} s; {summary})\n"
                      f"  ratio: {ours / rm:.2f}x docker rm (target <= 1.10x)", flush=True)
    finally:
        eng.stop_engine(started)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(os.environ["XDG_STATE_HOME"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
