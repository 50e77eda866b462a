"""No test may hang the suite: one still running after ``HANG_SECONDS`` is cancelled where it waits and fails.

CI gives the whole suite 90 minutes; a test that waits forever (a workflow that never completes, a
subprocess that never answers) would spend them all and say nothing. An async test is cancelled on its
own event loop, so its traceback names the ``await`` it was stuck on, the stacks of every other task are
printed into its captured stderr, and the session's loop, server and worker go on to the next test.
pytest-timeout (``timeout`` in pyproject.toml, later than this) is the backstop for what cancelling cannot
reach: a hang in synchronous code, a fixture, or a task that swallows its cancellation.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
from collections.abc import Iterator

import pytest
import pytest_asyncio

HANG_SECONDS = float(os.environ.get("YUQING_TEST_HANG_SECONDS", "420"))
"""Far above the slowest test on a loaded 2-core machine (the 120-day proof: 70 s alone, 100–160 s in the suite,
245 s with two suites side by side)."""


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _session_loop() -> asyncio.AbstractEventLoop:
    """The loop every async test and fixture runs on (``asyncio_default_test_loop_scope = session``)."""
    return asyncio.get_running_loop()


def _cancel_on(loop: asyncio.AbstractEventLoop, item: pytest.Function, code: object, finished: threading.Event) -> None:
    def cancel() -> None:  # on the loop's own thread: tasks are only touched there
        if finished.is_set():  # the test ended between the timer and this callback: nothing to blame
            return
        tasks = asyncio.all_tasks(loop)
        stuck = [t for t in tasks if getattr(t.get_coro(), "cr_code", None) is code]
        print(f"\n== {item.nodeid}: still running after {HANG_SECONDS:g}s; every task's stack ==", file=sys.stderr)
        for task in tasks:
            task.print_stack(limit=30, file=sys.stderr)
        for task in stuck:
            task.cancel(f"测试超时 hung: still running after {HANG_SECONDS:g}s, cancelled where it waited")

    if not loop.is_closed():
        loop.call_soon_threadsafe(cancel)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    loop = getattr(item, "funcargs", {}).get("_session_loop")
    if (
        not isinstance(item, pytest.Function)
        or not inspect.iscoroutinefunction(item.obj)  # a synchronous test: pytest-timeout's alone
        or not isinstance(loop, asyncio.AbstractEventLoop)
    ):
        return (yield)
    code = getattr(item.obj, "__code__", None)  # the test's own: pytest-asyncio wraps ``obj`` while it runs
    finished = threading.Event()
    timer = threading.Timer(HANG_SECONDS, _cancel_on, (loop, item, code, finished))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        finished.set()
        timer.cancel()
