#!/usr/bin/env python3
"""The first frame over ssh:// against the same engine over its unix socket (issue 17).

Not a test: it prints figures. As root (needs tmux and openssh-server):

    .venv/bin/python benchmarks/ssh_first_frame.py [--containers 1000] [--runs 3] [--idle 5]

What it does:

1. Starts a private engine (as ``console_startup_idle.py``, whose helpers it uses) with
   ``--containers`` containers, and a real sshd on 127.0.0.1 at a free port in front of it
   (``tests/ssh_lab.py``: its own host key, ``SetEnv DOCKER_HOST`` to the engine's socket), and a
   HOME of its own whose ``~/.ssh/config`` names it ``carina-engine`` (HostName, Port, User,
   IdentityFile) with its host key in known_hosts.
2. In the gateway alone (no terminal): seconds from nothing to ``info()`` answered and to the
   whole container list, over the socket and over ``ssh://carina-engine`` (SSH handshake, key
   exchange, login and the first channel included), ``--runs`` times each.
3. The console in tmux at 160x50, alternating socket and ssh, ``--runs`` times each: seconds from
   start to the first frame with a known container and the full count in the Containers title;
   idle CPU and bytes written for ``--idle`` seconds; RSS (``console_startup_idle.measure``).

Prints every run, the medians and the load average; everything it started is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import console_startup_idle as base  # noqa: E402 - puts the repo and tests/ on the path too

from ssh_lab import ALIAS, SSHLab  # noqa: E402

SSH_URL = f"ssh://{ALIAS}"


def gateway_times(url: str) -> tuple[float, float]:
    from carina_tui.gateways.docker_gateway import DockerGateway

    t0 = time.perf_counter()
    gateway = DockerGateway(url)
    try:
        gateway.info()
        t1 = time.perf_counter()
        gateway.containers()
        t2 = time.perf_counter()
    finally:
        gateway.close()
    return t1 - t0, t2 - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measured per run")
    args = parser.parse_args()
    from carina_tui.sandbox.engine import start_engine
    from carina_tui.sandbox.images import ensure_local_images

    for tool in ("tmux", "sshd"):
        if shutil.which(tool, path="/usr/sbin:" + os.environ.get("PATH", "")) is None:
            print(f"{tool} is not installed: apt-get install {'openssh-server' if tool == 'sshd' else tool}",
                  file=sys.stderr)
            return 1
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    pid = os.getpid()
    top_dir = Path(f"/tmp/carina-bench-ssh-{pid}")
    work = top_dir / "out"
    work.mkdir(parents=True, exist_ok=True)
    engine = tmux = lab = None
    status = 0
    try:
        engine = start_engine(f"bssh-{pid}", top_dir / "engine")
        ensure_local_images(engine.url)
        base.populate(engine.url, args.containers, 2, 48)
        (top_dir / "lab").mkdir()
        lab = SSHLab(top_dir / "lab", engine.url)
        lab.start()
        home = top_dir / "home"
        home.mkdir()
        lab.client_home(home)
        os.environ["HOME"] = str(home)  # the console's ~/.ssh (tmux's server below starts with it)
        os.environ.pop("SSH_AUTH_SOCK", None)
        print(f"engine {engine.url} with {args.containers} containers; sshd on 127.0.0.1:{lab.port}; "
              f"{os.cpu_count()} cores, load average {base.loadavg()}")

        print("\n== The gateway alone: seconds to info() answered / to the whole container list")
        for url in (engine.url, SSH_URL):
            runs = [gateway_times(url) for _ in range(args.runs)]
            print(f"   {url}: " + ", ".join(f"{a:.3f}/{b:.3f}" for a, b in runs)
                  + f"  median {statistics.median(a for a, _ in runs):.3f}/{statistics.median(b for _, b in runs):.3f}")

        tmux = base.Tmux(f"carina-bench-ssh-{pid}")
        base.PYCACHE = top_dir / "pycache"
        base.measure(tmux, engine.url, 160, 50, args.containers, 0.0, work, 99)  # warm-up: bytecode cache
        print(f"\n== The console at 160x50: first frame with {args.containers} containers (tmux and its "
              f"capture poll included), idle {args.idle:g} s")
        results: dict[str, list[dict]] = {engine.url: [], SSH_URL: []}
        for n in range(args.runs):
            for url in results:
                r = base.measure(tmux, url, 160, 50, args.containers, args.idle, work, n)
                results[url].append(r)
                print(f"   {url}: first frame {r['first_frame_s']:.3f} s (CPU {r['cpu_to_first_frame_s']:.2f} s) | "
                      f"idle CPU {r['idle_cpu_pct']:.2f} % | idle bytes {r['idle_bytes']} | RSS {r['rss_mb']:.1f} MB"
                      f" | load {r['load']}")
        print("\n== Medians")
        for url, runs in results.items():
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("first_frame_s", "cpu_to_first_frame_s", "idle_cpu_pct", "rss_mb")}
            print(f"   {url}: first frame {med['first_frame_s']:.3f} s, CPU to it {med['cpu_to_first_frame_s']:.2f} s, "
                  f"idle CPU {med['idle_cpu_pct']:.2f} %, RSS {med['rss_mb']:.1f} MB")
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        status = 130
    finally:
        if lab is not None:
            lab.stop()
        if not base.tear_down(tmux, engine, top_dir):
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
