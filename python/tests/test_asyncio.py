"""timekeeper.asyncio: every task of a loop profiled per coroutine type, with the metric semantics
of the C library (exec, exec with children, wall, outcomes, stillborn, zombie events).

Times are checked as lower bounds (busy loops of known length) and as relations between metrics,
never as absolute values: a shared machine may pause the process at any moment."""
import asyncio
import glob
import os
import time

import pytest

import timekeeper
import timekeeper.asyncio as tka

MS = 1_000_000


def busy(ms):
    """Keeps the loop's thread running for at least ms milliseconds (a slice, not a wait)."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def row(func):
    """The snapshot row of coroutine `func` (its qualified name)."""
    rows = [r for r in tka.snapshot() if r["func"] == func.__qualname__]
    assert len(rows) == 1, (func.__qualname__, tka.snapshot())
    r = rows[0]
    assert r["file"] == func.__code__.co_filename
    assert r["line"] == func.__code__.co_firstlineno
    return r


def test_parent_awaiting_a_child_that_does_not_yield_keeps_only_its_own_time():
    async def child_no_yield():
        busy(10)

    async def parent_of_sync_child():
        busy(10)
        await asyncio.create_task(child_no_yield())
        busy(10)

    async def main():
        await asyncio.create_task(parent_of_sync_child())
        return row(parent_of_sync_child), row(child_no_yield)

    p, c = tka.run(main())
    assert p["completed"] == 1 and c["completed"] == 1
    assert p["exec_ns"] >= 20 * MS
    assert c["exec_ns"] >= 10 * MS
    assert p["exec_with_children_ns"] == p["exec_ns"] + c["exec_ns"]
    # the child ran between the parent's two slices: all three fit in the parent's wall time
    assert p["exec_ns"] + c["exec_ns"] <= p["wall_ns"]
    assert p["wall_ns"] >= 30 * MS
    assert p["slices"] == 2 and c["slices"] == 1
    assert p["in_flight"] == 0


def test_child_that_yields_counts_both_slices_and_its_wait_only_in_wall():
    async def child_yielding():
        busy(10)
        await asyncio.sleep(0.05)
        busy(10)

    async def parent_of_yielding_child():
        busy(10)
        await asyncio.create_task(child_yielding())
        busy(10)

    async def main():
        await asyncio.create_task(parent_of_yielding_child())
        return row(parent_of_yielding_child), row(child_yielding)

    p, c = tka.run(main())
    assert c["slices"] == 2
    assert c["exec_ns"] >= 20 * MS
    assert c["wall_ns"] >= 70 * MS
    assert c["wall_ns"] >= c["exec_ns"] + 50 * MS  # the wait is wall time, not exec
    assert c["max_slice_ns"] >= 10 * MS and c["max_slice_ns"] <= c["exec_ns"]
    assert p["exec_with_children_ns"] == p["exec_ns"] + c["exec_ns"]
    assert p["wall_ns"] >= p["exec_ns"] + c["wall_ns"]


def test_task_cancelled_before_its_first_step_is_stillborn():
    async def never_started():
        busy(1)

    async def main():
        t = asyncio.create_task(never_started())
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        return row(never_started)

    r = tka.run(main())
    assert r["cancelled"] == 1
    assert r["stillborn"] == 1
    assert r["slices"] == 0 and r["exec_ns"] == 0
    assert r["in_flight"] == 0


def test_failure_and_cancellation_while_waiting_are_counted_apart():
    async def fails():
        busy(2)
        raise ValueError("boom")

    async def waits_forever():
        await asyncio.sleep(3600)

    async def main():
        f = asyncio.create_task(fails())
        w = asyncio.create_task(waits_forever())
        with pytest.raises(ValueError):
            await f
        await asyncio.sleep(0)
        w.cancel()
        with pytest.raises(asyncio.CancelledError):
            await w
        return row(fails), row(waits_forever)

    f, w = tka.run(main())
    assert (f["failed"], f["completed"], f["cancelled"]) == (1, 0, 0)
    assert (w["cancelled"], w["completed"], w["failed"]) == (1, 0, 0)
    assert w["stillborn"] == 0 and w["slices"] == 2  # it ran, waited, was cancelled in a step
    assert f["exec_ns"] >= 2 * MS


def test_child_outliving_its_parent_still_adds_to_the_parent():
    async def late_child(started):
        started.set()
        await asyncio.sleep(0.01)
        busy(5)

    async def spawns_and_returns(started, keep):
        keep.append(asyncio.create_task(late_child(started)))

    async def main():
        started, keep = asyncio.Event(), []
        await asyncio.create_task(spawns_and_returns(started, keep))
        mid = row(spawns_and_returns)
        assert row(late_child)["in_flight"] == 1
        await keep[0]
        return mid, row(spawns_and_returns), row(late_child)

    mid, p, c = tka.run(main())
    assert mid["completed"] == 1
    assert p["exec_with_children_ns"] - mid["exec_with_children_ns"] >= 5 * MS
    assert p["exec_with_children_ns"] == p["exec_ns"] + c["exec_ns"]
    assert c["in_flight"] == 0


def test_steps_after_the_end_are_zombie_events_and_do_not_crash():
    async def finishes_quickly():
        return 42

    w = tka.wrap(finishes_quickly())
    with pytest.raises(StopIteration) as e:
        w.send(None)
    assert e.value.value == 42
    with pytest.raises(RuntimeError):  # the coroutine itself refuses: it is finished
        w.send(None)
    with pytest.raises(RuntimeError):
        w.send(None)
    r = row(finishes_quickly)
    assert r["completed"] == 1
    assert r["zombie"] == 2


def test_enable_profiles_tasks_of_the_running_loop_and_refuses_a_foreign_factory():
    async def profiled_after_enable():
        await asyncio.sleep(0)

    async def main():
        tka.enable()
        await asyncio.gather(*(profiled_after_enable() for _ in range(5)))
        tka.disable()
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda lp, coro, **kw: asyncio.Task(coro, loop=lp, **kw))
        with pytest.raises(RuntimeError):
            tka.enable()
        loop.set_task_factory(None)
        return row(profiled_after_enable)

    r = asyncio.run(main())
    assert r["completed"] == 5 and r["slices"] == 10


def test_tasks_reach_the_segment_under_their_coroutine_name():
    async def visible_in_segment():
        await asyncio.sleep(0)

    tka.run(visible_in_segment())
    path = timekeeper.segment_path()
    assert path and os.path.exists(path)
    with open(path, "rb") as f:
        data = f.read(8 << 20)
    assert b"visible_in_segment@" in data


def test_wrapped_coroutine_shows_the_original_in_repr_and_attributes():
    async def introspected():
        await asyncio.sleep(0)

    async def main():
        t = asyncio.create_task(introspected())
        coro = t.get_coro()
        assert coro.__wrapped__.__qualname__.endswith("introspected")
        assert coro.cr_code is introspected.__code__
        assert "introspected" in repr(t)
        await t

    tka.run(main())
