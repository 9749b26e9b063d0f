"""The thread machinery (carina_tui.runtime): a fixed pool of daemon threads that never holds exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from carina_tui.runtime import DaemonExecutor, loop_threads, run_each, start_loop


def test_the_pool_never_grows_past_its_size_and_its_threads_are_daemons():
    pool = DaemonExecutor(4, name="t-pool")
    release = threading.Event()
    futures = [pool.submit(release.wait, 10) for _ in range(12)]
    deadline = time.monotonic() + 10
    while pool.busy < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.threads == 4 and pool.busy == 4
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("t-pool-"))
    release.set()
    assert [f.result(10) for f in futures] == [True] * 12
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_shutdown_never_waits_for_a_task_under_way():
    pool = DaemonExecutor(2, name="t-stuck")
    blocked = threading.Event()
    pool.submit(blocked.wait)
    started = time.monotonic()
    pool.shutdown(wait=True)
    assert time.monotonic() - started < 1.0  # a hang bound: it returns at once
    blocked.set()


def test_idle_threads_end_by_themselves():
    pool = DaemonExecutor(3, name="t-idle", idle=0.1)
    assert [f.result(10) for f in [pool.submit(lambda: 1) for _ in range(3)]] == [1, 1, 1]
    deadline = time.monotonic() + 10
    while pool.threads and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.threads == 0
    assert pool.submit(lambda: 2).result(10) == 2, "a new task starts a thread again"


def test_run_each_keeps_the_order_and_raises_the_first_error():
    assert run_each(lambda x: x * 2, [1, 2, 3, 4], workers=2, name="t-each") == [2, 4, 6, 8]
    with pytest.raises(ValueError):
        run_each(lambda x: 1 / 0 if x == 2 else int("x"), [1, 2], workers=2, name="t-each")


def test_a_loop_thread_is_named_and_counted():
    stop = threading.Event()
    thread = start_loop("carina-test:here", stop.wait)
    assert thread.daemon and "carina-test:here" in [t.name for t in loop_threads("carina-test:")]
    stop.set()
    thread.join(5)
    assert not loop_threads("carina-test:")


def test_asyncio_run_ends_at_once_with_a_worker_still_blocked():
    """asyncio.run() ends with loop.shutdown_default_executor(), which joins the pool's threads:
    with a worker blocked in a read (a Consul blocking query), quitting used to wait for it."""
    script = textwrap.dedent("""
        import asyncio, threading
        from carina_tui.runtime import DaemonExecutor

        async def main():
            loop = asyncio.get_running_loop()
            loop.set_default_executor(DaemonExecutor())
            loop.run_in_executor(None, threading.Event().wait)  # blocked for good
            await asyncio.sleep(0.1)

        asyncio.run(main())
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr
