"""Cleanup of 1,000 exited containers against `docker rm` of the same number, whole process against whole process.

Not a test. Starts a private engine of its own (network namespace, data root and
socket of its own; needs root), imports the busybox image, then per round:

1. creates N exited containers and times ONE `docker rm ID1 ... IDN` process, from
   spawn to exit;
2. creates N exited containers again and times ONE `python -m carina_tui cleanup
   --host URL --label carina.bench=TAG --yes` process, from spawn to exit: start-up,
   list, plan, every container re-inspected by the guard just before its removal
   (force=False), audited;
3. unless ``--no-in-process``, creates N again and times the same cleanup inside this
   process (list + plan + execute, once per ``--per-engine`` pool size; the process in
   2 uses the product's own pool size): the whole process minus this is what start-up
   and exit cost.

After each removal it checks that the exit status was 0 and the engine holds none of
that round's containers. It prints the times, the CPU of the child process (docker CLI,
carina-tui) or of this process (in-process), the engine's CPU over each timing, and the
ratio (target: at most 1.1x `docker rm`, whole process against whole process), and stops
the engine at the end.

The cleanup child runs as an installed package would: bytecode cached (in a folder
under the work folder, PYTHONDONTWRITEBYTECODE unset for it), filled by one warm-up
run that is not counted; its audit log (XDG_STATE_HOME) and config dir (XDG_CONFIG_HOME)
are temporary folders, so nothing lands in the real home and no user rule applies.

Making 1,000 containers loads the machine (the engine's disk writes go on after the
last one exited), and the time after it is what both sides are measured in. With
``--settle S`` each timing waits first, for at most S seconds, until the dirty pages
are written out and the engine's processes (dockerd, containerd) used under 5 % of
a core for a second: then `docker rm` and the cleanup start from the same quiet
state.

    python benchmarks/cleanup_vs_docker_rm.py [--count 1000] [--rounds 1] [--settle 60]
        [--no-in-process] [--per-engine 8 ...]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import docker  # noqa: E402 - the benchmark fills the engine with docker-py directly

from carina_tui.sandbox import engine as eng  # noqa: E402
from carina_tui.sandbox.images import BUSYBOX_IMAGE, ensure_local_images  # noqa: E402

LABEL = "carina.bench"


def make_exited(url: str, count: int) -> tuple[str, list[str]]:
    """``count`` containers that ran ``true`` and exited, labelled ``carina.bench=TAG``; the tag and their ids."""
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
    return tag, ids


def check_gone(url: str, tag: str, who: str) -> None:
    """Stop the benchmark when the engine still holds any container labelled ``carina.bench=tag``."""
    api = docker.APIClient(base_url=url, version="auto", timeout=120)
    try:
        left = api.containers(all=True, filters={"label": f"{LABEL}={tag}"}, quiet=True)
    finally:
        api.close()
    if left:
        raise SystemExit(f"{who} left {len(left)} of its containers on the engine")


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


class Timed:
    """One timing: wall seconds, CPU seconds of the client (child process or this one), engine CPU seconds."""

    def __init__(self, wall: float, cpu: float, engine: float, note: str = "") -> None:
        self.wall, self.cpu, self.engine, self.note = wall, cpu, engine, note


def time_docker_rm(started, ids: list[str], tag: str) -> Timed:
    """ONE `docker rm ID1 ... IDN` process, from spawn to exit."""
    engine, cpu, start = _engine_cpu(started), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(["docker", "-H", started.url, "rm", *ids], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=eng.clean_env())
    timed = Timed(time.perf_counter() - start, _cpu(resource.RUSAGE_CHILDREN) - cpu, _engine_cpu(started) - engine)
    if done.returncode != 0:
        raise SystemExit(f"docker rm exited with {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    check_gone(started.url, tag, "docker rm")
    return timed


def child_env(work: Path) -> dict[str, str]:
    """The cleanup child's environment: no engine choice of the user's, bytecode cached under ``work`` (as
    an installed package has it, whatever PYTHONDONTWRITEBYTECODE says here), this copy of the project
    first on the path, the audit log and the config dir in folders of ours."""
    env = {k: v for k, v in eng.clean_env().items() if k not in ("PYTHONDONTWRITEBYTECODE", "CARINA_TUI_CONFIG")}
    env.update(PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(work / "pycache"),
               XDG_STATE_HOME=str(work / "state"), XDG_CONFIG_HOME=str(work / "config"))
    return env


def cleanup_command(url: str, tag: str) -> list[str]:
    return [sys.executable, "-m", "carina_tui", "cleanup", "--host", url, "--label", f"{LABEL}={tag}", "--yes"]


def time_cleanup_process(started, tag: str, expected: int, work: Path) -> Timed:
    """ONE `python -m carina_tui cleanup ... --yes` process, from spawn to exit."""
    out, err = work / "cleanup.out", work / "cleanup.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        engine, cpu, start = _engine_cpu(started), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
        code = subprocess.run(cleanup_command(started.url, tag), stdout=stdout, stderr=stderr,
                              env=child_env(work), cwd=work).returncode
        timed = Timed(time.perf_counter() - start, _cpu(resource.RUSAGE_CHILDREN) - cpu,
                      _engine_cpu(started) - engine)
    lines = out.read_text(errors="replace").splitlines()
    timed.note = lines[-1] if lines else ""
    if code != 0 or timed.note != f"{expected} removed, 0 skipped, 0 failed.":
        raise SystemExit(f"carina-tui cleanup exited with {code} ({timed.note!r}): "
                         f"{err.read_text(errors='replace')[-500:]}")
    check_gone(started.url, tag, "carina-tui cleanup")
    return timed


def time_cleanup_in_process(started, tag: str, expected: int, per_engine: int) -> Timed:
    """The same cleanup inside this process (list + plan + execute), connected beforehand."""
    from carina_tui.core.clusters import ClusterSpec
    from carina_tui.core.planner import ContainerFilter, parse_label, plan_cleanup
    from carina_tui.services.runner import execute
    from carina_tui.services.session import Session

    url = started.url
    session = Session(ClusterSpec("bench", "cli", (url,)))
    session.gateways[url].ping()  # connect first, as the console or CLI already has by then
    engine, cpu, start = _engine_cpu(started), _cpu(resource.RUSAGE_SELF), time.perf_counter()
    snapshot = session.snapshot()
    plan = plan_cleanup(snapshot.containers, session.guard.rules,
                        ContainerFilter(labels=(parse_label(f"{LABEL}={tag}"),)))
    result = execute(session.guard, plan.to_remove, per_engine=per_engine, kept=plan.protected_kept)
    timed = Timed(time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu, _engine_cpu(started) - engine,
                  result.summary())
    session.close()
    if len(result.removed) != expected or result.failed or result.skipped:
        raise SystemExit(f"cleanup did not remove exactly the {expected} containers: {result.summary()}")
    check_gone(url, tag, "the in-process cleanup")
    return timed


def fresh_set(started, opts) -> tuple[str, list[str], float, float]:
    """``--count`` new exited containers, then the engine let settle: their tag and ids, the
    seconds waited and the load average then."""
    tag, ids = make_exited(started.url, opts.count)
    waited = settle(started, opts.settle)
    return tag, ids, waited, os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--in-process", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the cleanup inside this process, to show what start-up costs "
                             "(default: yes; it makes N more containers per pool size)")
    parser.add_argument("--per-engine", type=int, nargs="+", default=[8],
                        help="pool sizes for the in-process timing (removals at once per engine); the "
                             "carina-tui process uses the product's own")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="before each timing, wait at most this long for the disk and the engine to be quiet")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("This benchmark starts a private dockerd and needs root.", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="carina-bench-", dir="/tmp"))
    work = folder / "work"  # the cleanup child's bytecode, audit log, config dir and output
    for sub in ("state", "config"):
        (work / sub).mkdir(parents=True)
    os.environ["XDG_STATE_HOME"] = str(work / "state")  # the in-process cleanup's audit log too
    name = f"bench-{os.getpid()}"
    print(f"starting a private engine {name} in {folder} ...", flush=True)
    started = eng.start_engine(name, folder / "engine", address_pool="10.250.0.0/16")
    try:
        ensure_local_images(started.url)
        tag, _ids = make_exited(started.url, 5)
        warm = time_cleanup_process(started, tag, 5, work)
        print(f"warm-up run (fills the bytecode cache; not counted): {warm.wall:.2f} s for 5 containers", flush=True)
        from carina_tui.services.runner import PER_ENGINE

        for rnd in range(opts.rounds):
            lines = []
            tag, ids, waited, load = fresh_set(started, opts)
            rm = time_docker_rm(started, ids, tag)
            lines.append(f"  docker rm (one process, all ids):       {rm.wall:6.2f} s  (its CPU {rm.cpu:.2f} s, "
                         f"engine CPU {rm.engine:.2f} s; load {load:.1f} after {waited:.0f} s settling)")
            tag, _ids, waited, load = fresh_set(started, opts)
            ours = time_cleanup_process(started, tag, opts.count, work)
            lines.append(f"  carina-tui cleanup (one process):       {ours.wall:6.2f} s  (its CPU {ours.cpu:.2f} s, "
                         f"engine CPU {ours.engine:.2f} s; load {load:.1f} after {waited:.0f} s settling; "
                         f"{ours.note})")
            lines.append(f"  ratio: {ours.wall / rm.wall:.2f}x docker rm, whole process against whole process "
                         f"(target <= 1.10x)")
            for per_engine in opts.per_engine if opts.in_process else ():
                tag, _ids, waited, load = fresh_set(started, opts)
                inner = time_cleanup_in_process(started, tag, opts.count, per_engine)
                lines.append(f"  in-process, pool {per_engine} (list + plan + re-checks): {inner.wall:6.2f} s  "
                             f"(this process's CPU {inner.cpu:.2f} s, engine CPU {inner.engine:.2f} s; "
                             f"load {load:.1f} after {waited:.0f} s settling)")
                if per_engine == PER_ENGINE:
                    lines.append(f"    the process's start-up and exit (process minus in-process): "
                                 f"{ours.wall - inner.wall:6.2f} s ({(ours.wall - inner.wall) / ours.wall:.0%} "
                                 f"of it); CPU {ours.cpu - inner.cpu:.2f} s")
            print(f"round {rnd + 1}, {opts.count} exited containers (load average {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} cores now):", *lines, sep="\n", flush=True)
    finally:
        eng.stop_engine(started)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
