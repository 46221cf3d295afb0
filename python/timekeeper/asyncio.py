"""timekeeper.asyncio — profiles every task of an asyncio loop per coroutine type.

One line turns it on for the running loop::

    import timekeeper.asyncio as tka

    async def main():
        tka.enable()          # tasks created from now on, on this loop, are profiled
        ...

    tka.run(main())           # or: asyncio.run with the main coroutine profiled as well

Each task's coroutine type (qualified name, file, first line) is a timekeeper task type; every
step of the task is a slice, recorded into the same per-thread rings as C tasks, and the per-thread
totals are kept exact in the segment (a collector reads them: ``timekeeper report``). The parent of
a task is the task whose step was running when it was created (``asyncio.create_task`` inside a
task); a child that outlives its parent still adds to the parent's ``exec_with_children``.

``snapshot()`` returns the totals of the calling thread's loop, heaviest first.
"""
import asyncio as _asyncio

from . import _timekeeper

__all__ = ["enable", "disable", "task_factory", "run", "snapshot", "wrap"]

wrap = _timekeeper._task_wrap


def task_factory(loop, coro, **kwargs):
    """A task factory for ``loop.set_task_factory``: the task's coroutine is profiled."""
    return _asyncio.Task(wrap(coro), loop=loop, **kwargs)


def enable(loop=None):
    """Profiles every task created from now on on ``loop`` (default: the running loop).

    Raises RuntimeError when the loop already has another task factory (it is kept)."""
    loop = loop or _asyncio.get_running_loop()
    current = loop.get_task_factory()
    if current is not None and current is not task_factory:
        raise RuntimeError("timekeeper.asyncio: the loop already has a task factory: %r" % (current,))
    loop.set_task_factory(task_factory)


def disable(loop=None):
    """Stops profiling tasks created from now on (tasks already profiled stay profiled)."""
    loop = loop or _asyncio.get_running_loop()
    if loop.get_task_factory() is task_factory:
        loop.set_task_factory(None)


def run(main, *, debug=None):
    """Like ``asyncio.run(main)``, with every task of the new loop profiled, ``main`` included."""
    with _asyncio.Runner(debug=debug) as runner:
        runner.get_loop().set_task_factory(task_factory)
        return runner.run(main)


def snapshot():
    """The calling thread's task totals (its loop's), one dict per coroutine type, sorted by
    ``exec_with_children_ns`` (largest first). Keys: func, file, line, created, completed, failed,
    cancelled, stillborn, in_flight, zombie, slices, exec_ns, exec_with_children_ns, wall_ns,
    max_slice_ns, max_exec_ns."""
    return _timekeeper._task_snapshot()
