#!/usr/bin/env python3
"""Console startup and idle cost with 1,000 containers, in a real pseudo-terminal (issue 2).

Not a test: it prints figures. As root:

    .venv/bin/python benchmarks/console_startup_idle.py             # the measurements
    .venv/bin/python benchmarks/console_startup_idle.py --profile   # and a profile of the first frame

What it does:

1. Starts a private Docker engine of its own (``carina_tui.sandbox.engine``, in a network
   namespace of its own) under ``/tmp/carina-bench-<pid>``, imports the local busybox image,
   and creates 1,000 containers in parallel through the Engine API: 2 running (``sleep 3600``),
   48 exited (``true``), the rest created.
2. For each terminal size (80x24 and 160x50) runs ``python -m carina_tui --host URL`` in a
   detached tmux session on a private tmux server (``tmux -L``), three times, and measures:
   * seconds from just before ``tmux new-session`` until ``capture-pane`` shows a row of a known
     container and the Containers pane title ``(1000)`` (polled every ~5 ms); the same poll on a
     trivial ``echo`` gives the tmux + polling overhead, printed apart;
   * CPU of the python process during 10 s of idle after the screen settled (% of one core,
     utime+stime from /proc/PID/stat);
   * bytes written to the terminal during those 10 s (``tmux pipe-pane``);
   * VmRSS after settling.
3. ``--profile``: one run under ``python -X importtime`` (imports until the first frame), and one
   run in the pty under cProfile, stopped right after the first frame with 1,000 rows is written;
   the engine calls (made in the load worker's thread) get a profiler of their own.

Everything it starts (engine, namespace, tmux server, files) is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tmux_console import Tmux, wait_screen, wait_settled  # noqa: E402 - needs the path above

TARGETS = {"first_frame_s": 0.6, "idle_cpu_pct": 0.5, "idle_bytes": 0, "rss_mb": 85.0}
PREFIX = "bench-"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- engine content


def populate(url: str, total: int, running: int, exited: int, workers: int = 16, first: int = 0) -> float:
    """Create containers ``first``..``total - 1`` in parallel (``bench-NNNN``); numbers below
    ``running`` run ``sleep 3600``, the next ``exited`` run ``true`` and exit, the rest are created."""
    import docker

    api = docker.APIClient(base_url=url, version="auto", timeout=120, max_pool_size=workers)
    started = time.perf_counter()

    def make(i: int) -> None:
        name = f"{PREFIX}{i:04d}"
        if i < running:
            cmd = ["sleep", "3600"]
        elif i < running + exited:
            cmd = ["true"]
        else:
            cmd = ["sleep", "1"]
        cid = api.create_container("busybox:latest", cmd, name=name, labels={"carina.bench": "1"})["Id"]
        if i < running + exited:
            api.start(cid)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(make, range(first, total)))
    # The exited ones: wait until `true` has ended everywhere.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(api.containers(filters={"status": "running"})) <= running:
            break
        time.sleep(0.2)
    api.close()
    return time.perf_counter() - started


def remove_all(url: str, workers: int = 16) -> None:
    import docker

    api = docker.APIClient(base_url=url, version="auto", timeout=120, max_pool_size=workers)
    ids = [c["Id"] for c in api.containers(all=True, quiet=True)]

    def rm(cid: str) -> None:
        try:
            api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001 - stop_engine removes what is left
            pass

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(rm, ids))
    api.close()


# --------------------------------------------------------------------------- tmux


PYCACHE: Path | None = None  # set in main(): bytecode of the console runs, under the work folder


def console_command(url: str, extra: list[str] | None = None, python_flags: list[str] | None = None,
                    stderr: Path | None = None) -> str:
    # Bytecode is cached (in a folder of ours) even where PYTHONDONTWRITEBYTECODE is set, as it
    # would be for an installed package; a warm-up run fills the cache.
    env = f"-u PYTHONDONTWRITEBYTECODE PYTHONPATH={shlex.quote(str(REPO))} TERM=xterm-256color"
    if PYCACHE is not None:
        env += f" PYTHONPYCACHEPREFIX={shlex.quote(str(PYCACHE))}"
    argv = [sys.executable, *(python_flags or []), *(extra or ["-m", "carina_tui", "--host", url])]
    tail = f" 2>{shlex.quote(str(stderr))}" if stderr else ""
    return f"cd {shlex.quote(str(REPO))} && exec env {env} {' '.join(shlex.quote(a) for a in argv)}{tail}"


def shown(text: str, total: int) -> bool:
    return f"Containers ({total})" in text and f"{PREFIX}0000" in text


def proc_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def python_pid(tmux: Tmux, session: str) -> int:
    pid = tmux.pane_pid(session)
    comm = Path(f"/proc/{pid}/comm").read_text().strip()
    if not comm.startswith("python"):
        raise RuntimeError(f"the pane runs {comm} (pid {pid}), not python")
    return pid


def stop_console(tmux: Tmux, session: str, pid: int) -> None:
    tmux.run("send-keys", "-t", session, "q", check=False)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.02)
    tmux.kill_session(session)


def tmux_overhead(tmux: Tmux, width: int, height: int) -> float:
    session = f"echo{width}"
    t0 = time.perf_counter()
    tmux.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "echo READY; exec sleep 60")
    seen, _ = wait_screen(tmux, session, lambda t: "READY" in t, 5)
    tmux.kill_session(session)
    return (seen or float("nan")) - t0


def measure(tmux: Tmux, url: str, width: int, height: int, total: int, idle: float, work: Path, n: int) -> dict:
    session = f"c{width}x{height}-{n}"
    t0 = time.perf_counter()
    tmux.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), console_command(url))
    seen, text = wait_screen(tmux, session, lambda t: shown(t, total), 60)
    if seen is None:
        tmux.kill_session(session)
        raise RuntimeError(f"the containers never showed at {width}x{height}; the screen was:\n{text}")
    first = seen - t0
    pid = python_pid(tmux, session)
    cpu_first = proc_cpu_ticks(pid) / CLK_TCK
    size = tmux.run("display-message", "-p", "-t", session, "#{window_width}x#{window_height}").strip()
    wait_settled(tmux, session)
    out = work / f"{session}.out"
    tmux.run("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(out))}")
    time.sleep(0.2)  # let the pipe open; its own start writes nothing
    c0, w0 = proc_cpu_ticks(pid), time.perf_counter()
    time.sleep(idle)
    c1, w1 = proc_cpu_ticks(pid), time.perf_counter()
    tmux.run("pipe-pane", "-t", session)  # closes the pipe
    time.sleep(0.1)
    rss = proc_rss_mb(pid)
    stop_console(tmux, session, pid)
    written = out.stat().st_size if out.exists() else 0
    out.unlink(missing_ok=True)
    return {
        "size": size,
        "first_frame_s": first,
        "cpu_to_first_frame_s": cpu_first,
        "load": loadavg(),
        "idle_cpu_pct": 100.0 * (c1 - c0) / CLK_TCK / (w1 - w0),
        "idle_bytes": written,
        "rss_mb": rss,
    }


# --------------------------------------------------------------------------- profile


def importtime_run(tmux: Tmux, url: str, total: int, work: Path) -> None:
    log = work / "importtime.log"
    session = "importtime"
    t0 = time.perf_counter()
    # -X importtime writes to fd 2, where Textual draws too: fd 2 goes to the log, and the
    # console gets the terminal through sys.__stderr__ opened on /dev/tty.
    boot = ("import runpy, sys; sys.__stderr__ = sys.stderr = open('/dev/tty', 'w'); "
            "sys.argv = ['carina_tui', '--host', sys.argv[1]]; runpy.run_module('carina_tui', run_name='__main__')")
    tmux.run("new-session", "-d", "-s", session, "-x", "160", "-y", "50",
             console_command(url, extra=["-c", boot, url], python_flags=["-X", "importtime"], stderr=log))
    seen, _ = wait_screen(tmux, session, lambda t: shown(t, total), 60)
    pid = python_pid(tmux, session)
    stop_console(tmux, session, pid)
    print(f"\n== Imports (python -X importtime, whole run until quit; first frame came at "
          f"{(seen or float('nan')) - t0:.3f} s with importtime's own overhead)")
    rows = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        rows.append((int(self_us), int(cum_us), name.rstrip()))
    log.unlink(missing_ok=True)
    total_self = sum(r[0] for r in rows)
    print(f"   {len(rows)} modules, {total_self / 1e6:.3f} s in all (sum of self times)")
    by_pkg: dict[str, int] = {}
    for self_us, _, name in rows:
        by_pkg[name.strip().split(".")[0]] = by_pkg.get(name.strip().split(".")[0], 0) + self_us
    print("   by top-level package (self times summed):")
    for pkg, us in sorted(by_pkg.items(), key=lambda kv: -kv[1])[:14]:
        print(f"     {us / 1000:8.1f} ms  {pkg}")
    print("   heaviest top-level imports (cumulative):")
    top = [r for r in rows if not r[2].startswith("  ")]
    for _, cum_us, name in sorted(top, key=lambda r: -r[1])[:12]:
        print(f"     {cum_us / 1000:8.1f} ms  {name.strip()}")
    print("   heaviest single modules (self):")
    for self_us, _, name in sorted(rows, key=lambda r: -r[0])[:12]:
        print(f"     {self_us / 1000:8.1f} ms  {name.strip()}")


def cprofile_run(tmux: Tmux, url: str, total: int, work: Path, width: int, height: int) -> None:
    report = work / "profile.txt"
    session = "profile"
    cmd = console_command(url, extra=[str(Path(__file__).resolve()), "--profile-child", url, str(report), str(total)])
    tmux.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), cmd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not report.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    tmux.kill_session(session)
    print(f"\n== cProfile of the startup path until the first frame with {total} rows ({width}x{height})")
    print(report.read_text() if report.exists() else "   (the profiled run wrote no report)")
    report.unlink(missing_ok=True)


def profile_child(url: str, report: str, total: int) -> None:
    """Runs inside tmux: the console's own start-up path, profiled, stopped after the first full frame."""
    import cProfile
    import io
    import pstats
    import threading

    # CPU time of each thread (not wall time): the figures hold on a busy machine too.
    marks: list[tuple[str, float, float]] = []
    t0 = time.perf_counter()
    main = cProfile.Profile(time.thread_time)
    main.enable()

    import carina_tui.cli as cli
    marks.append(("import carina_tui.cli", time.perf_counter(), time.process_time()))
    from textual.drivers.linux_driver import LinuxDriver

    from carina_tui.gateways.docker_gateway import DockerGateway
    from carina_tui.services.session import Session
    from carina_tui.ui.app import CarinaApp  # noqa: F401 - the import is what is timed
    from carina_tui.ui.console_screen import ConsoleScreen
    from carina_tui.ui.panes import ContainersPane
    from carina_tui.ui.tables import KeyTable, TablePane
    marks.append(("import carina_tui.ui.app (textual, widgets)", time.perf_counter(), time.process_time()))

    worker = cProfile.Profile(time.thread_time)
    worker_lock = threading.Lock()
    timings: dict[str, list[float]] = {}

    def timed(owner, name, label, profile_thread=False):
        original = getattr(owner, name)

        def wrapper(*a, **kw):
            start = time.perf_counter()
            if profile_thread:
                worker.enable()
            try:
                return original(*a, **kw)
            finally:
                if profile_thread:
                    worker.disable()
                with worker_lock:
                    timings.setdefault(label, []).append(time.perf_counter() - start)

        setattr(owner, name, wrapper)

    timed(Session, "_snapshot", "Session._snapshot (prefetch thread)", profile_thread=True)
    timed(DockerGateway, "info", "  gateway.info (GET /info + /version)")
    timed(DockerGateway, "containers", "  gateway.containers (GET /containers/json + models)")
    timed(DockerGateway, "_container", "    gateway._container (dict -> ContainerInfo, per row)")
    timed(DockerGateway, "_get", "    gateway._get (plain HTTP on the unix socket + JSON)")
    timed(DockerGateway, "networks", "  gateway.networks")
    timed(KeyTable, "commit", "KeyTable.commit")
    timed(KeyTable, "render_line", "KeyTable.render_line")
    timed(TablePane, "_sync", "TablePane._sync (all panes)")
    timed(ConsoleScreen, "_derived", "ConsoleScreen._derived")

    written = {"bytes": 0, "writes": 0}
    original_write = LinuxDriver.write

    def write(self, data: str) -> None:
        written["bytes"] += len(data.encode("utf-8", "replace"))
        written["writes"] += 1
        return original_write(self, data)

    LinuxDriver.write = write

    state = {"loaded": None, "frame": None}
    original_replace = TablePane.replace_all

    def replace_all(self, items, **kwargs):
        original_replace(self, items, **kwargs)
        if isinstance(self, ContainersPane) and len(self.items) >= total and state["loaded"] is None:
            state["loaded"] = time.perf_counter()
            marks.append(("containers handed to the pane (replace_all done)", state["loaded"], time.process_time()))
            self.app.call_after_refresh(first_frame, self.app)

    def first_frame(app) -> None:
        state["frame"] = time.perf_counter()
        main.disable()
        marks.append((f"next refresh done (frame with {total} rows written)", state["frame"], time.process_time()))
        app.exit()

    TablePane.replace_all = replace_all
    original_mount = ConsoleScreen.on_mount

    def on_mount(self):
        marks.append(("ConsoleScreen.on_mount (first compose done)", time.perf_counter(), time.process_time()))
        return original_mount(self)

    ConsoleScreen.on_mount = on_mount
    original_prefetch = Session.prefetch

    def prefetch(self):
        marks.append(("session opened, first snapshot started in a thread", time.perf_counter(), time.process_time()))
        return original_prefetch(self)

    Session.prefetch = prefetch
    bytes_at_loaded = {}
    try:
        cli.main(["--host", url])
    finally:
        main.disable()
    bytes_at_loaded = dict(written)

    out = io.StringIO()
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("   timeline (wall s since the process's first line of Python; process CPU s so far, all threads):")
    for label, t, cpu in marks:
        p(f"     {t - t0:7.3f}  cpu {cpu:6.3f}  {label}")
    p(f"   bytes written to the terminal until exit: {bytes_at_loaded['bytes']} in {bytes_at_loaded['writes']} writes")
    p(f"   load average {loadavg()}")
    p("   timed calls (wall time; n = number of calls):")
    for label, values in timings.items():
        p(f"     {sum(values) * 1000:9.1f} ms  n={len(values):<5d} {label}")

    def top(prof: cProfile.Profile, sort: str, n: int, title: str) -> None:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats(sort).print_stats(n)
        p(f"   {title}")
        text = buf.getvalue()
        start = text.find("   ncalls")
        p("\n".join("     " + line for line in text[start:].splitlines() if line.strip()))

    top(main, "cumulative", 60, "main thread, CPU s, by cumulative time (top 60):")
    top(main, "tottime", 30, "main thread, CPU s, by own time (top 30):")
    top(worker, "cumulative", 25, "prefetch thread (Session._snapshot), CPU s, by cumulative time (top 25):")
    Path(report + ".tmp").write_text(out.getvalue())
    os.replace(report + ".tmp", report)


# --------------------------------------------------------------------------- main


def verdict(key: str, value: float) -> str:
    target = TARGETS[key]
    return "ok" if value <= target else f"over target {target}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--running", type=int, default=2)
    parser.add_argument("--exited", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    parser.add_argument("--sizes", default="80x24,160x50")
    parser.add_argument("--profile", action="store_true", help="also -X importtime and cProfile the first frame")
    parser.add_argument("--profile-only", action="store_true", help="only the profile, no measurements")
    parser.add_argument("--profile-child", nargs=3, metavar=("URL", "REPORT", "TOTAL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_child:
        url, report, total = args.profile_child
        profile_child(url, report, int(total))
        return 0

    from carina_tui.sandbox.engine import start_engine
    from carina_tui.sandbox.images import ensure_local_images

    if shutil.which("tmux") is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    pid = os.getpid()
    top_dir = Path(f"/tmp/carina-bench-{pid}")
    work = top_dir / "out"
    work.mkdir(parents=True, exist_ok=True)
    engine = None
    tmux = None
    status = 0
    try:
        t = time.perf_counter()
        engine = start_engine(f"bench-{pid}", top_dir / "engine")
        ensure_local_images(engine.url)
        print(f"engine {engine.url} (netns {engine.netns}) ready in {time.perf_counter() - t:.1f} s")
        made = populate(engine.url, args.containers, args.running, args.exited)
        print(f"{args.containers} containers ({args.running} running, {args.exited} exited, "
              f"{args.containers - args.running - args.exited} created) made in {made:.1f} s")
        tmux = Tmux(f"carina-bench-{pid}")
        global PYCACHE
        PYCACHE = top_dir / "pycache"
        print(f"python {sys.executable} ({sys.version.split()[0]}), {os.cpu_count()} cores, "
              f"load average {loadavg()}")
        warm = measure(tmux, engine.url, 80, 24, args.containers, 0.0, work, 99)
        print(f"warm-up run (fills the bytecode cache; not counted): first frame {warm['first_frame_s']:.3f} s")

        if not args.profile_only:
            summary = []
            for width, height in sizes:
                overhead = [tmux_overhead(tmux, width, height) for _ in range(3)]
                print(f"\n== {width}x{height}   (tmux new-session + capture-pane poll of a trivial `echo`: "
                      f"{', '.join(f'{o:.3f}' for o in overhead)} s, median {statistics.median(overhead):.3f} s; "
                      "included in the first-frame figures below)")
                results = []
                for n in range(args.runs):
                    r = measure(tmux, engine.url, width, height, args.containers, args.idle, work, n)
                    results.append(r)
                    print(f"   run {n + 1} (window {r['size']}): first frame {r['first_frame_s']:.3f} s "
                          f"(CPU {r['cpu_to_first_frame_s']:.2f} s) | idle CPU {r['idle_cpu_pct']:.2f} % | idle bytes {r['idle_bytes']} | "
                          f"RSS {r['rss_mb']:.1f} MB | load avg {r['load']}")
                med = {k: statistics.median(r[k] for r in results) for k in (*TARGETS, "cpu_to_first_frame_s")}
                summary.append(((width, height), med, statistics.median(overhead)))
                for key, unit in (("first_frame_s", "s"), ("idle_cpu_pct", "%"), ("idle_bytes", "bytes"),
                                  ("rss_mb", "MB")):
                    print(f"   median {key:14s} {med[key]:9.3f} {unit:5s} ({verdict(key, med[key])})")
            print("\n== Summary (medians)")
            for (width, height), med, over in summary:
                print(f"   {width}x{height}: first frame {med['first_frame_s']:.3f} s "
                      f"(of which ~{over:.3f} s tmux/poll; {med['cpu_to_first_frame_s']:.2f} s of CPU), idle CPU {med['idle_cpu_pct']:.2f} %, "
                      f"idle bytes {med['idle_bytes']:.0f}, RSS {med['rss_mb']:.1f} MB")
                if any(med[k] > TARGETS[k] for k in TARGETS):
                    status = 1
        if args.profile or args.profile_only:
            importtime_run(tmux, engine.url, args.containers, work)
            cprofile_run(tmux, engine.url, args.containers, work, 160, 50)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        status = 130
    finally:
        if not tear_down(tmux, engine, top_dir):
            status = status or 1
    return status


def tear_down(tmux: Tmux | None, engine, top_dir: Path) -> bool:
    """Stop the tmux server and the engine, remove the files; False if the engine left something."""
    from carina_tui.sandbox.engine import leftovers, stop_engine

    if tmux is not None:
        tmux.kill_server()
    left = []
    if engine is not None:
        try:
            remove_all(engine.url)
        except Exception as exc:  # noqa: BLE001 - stop_engine removes by force anyway
            print(f"removing containers: {exc}", file=sys.stderr)
        stop_engine(engine)
        left = leftovers(engine)
        if left:
            print(f"the engine left behind: {'; '.join(left)}", file=sys.stderr)
    shutil.rmtree(top_dir, ignore_errors=True)
    return not left


if __name__ == "__main__":
    sys.exit(main())
