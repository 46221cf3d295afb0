"""bench_asyncio.py — what timekeeper.asyncio adds to a task step: a task awaiting
``asyncio.sleep(0)`` N times (one loop round trip and one profiled slice each), on a plain loop and
on a profiled loop, alternated over repetitions; medians of the per-round-trip time.

    PYTHONPATH=build/python /usr/bin/python3 bench/bench_asyncio.py [--quick]

Prints ``name: value unit`` lines; asserts nothing (goal: overhead <= 1.5x)."""
import asyncio
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time

if "TK_DIR" not in os.environ:  # a private directory, removed at exit
    os.environ["TK_DIR"] = tempfile.mkdtemp(prefix="tk-bench-asyncio-")
    atexit.register(shutil.rmtree, os.environ["TK_DIR"], True)

import timekeeper.asyncio as tka  # noqa: E402


async def round_trips(n):
    for _ in range(n):
        await asyncio.sleep(0)


async def timed(n):
    t0 = time.perf_counter_ns()
    await asyncio.get_running_loop().create_task(round_trips(n))
    return (time.perf_counter_ns() - t0) / n


def run(profiled, n):
    with asyncio.Runner() as r:
        if profiled:
            r.get_loop().set_task_factory(tka.task_factory)
        return r.run(timed(n))


def main():
    quick = "--quick" in sys.argv[1:]
    n, reps = (20000, 5) if quick else (100000, 11)
    run(False, n // 10), run(True, n // 10)  # warm up
    plain, prof = [], []
    for i in range(reps):
        for profiled in ((False, True) if i % 2 == 0 else (True, False)):
            (prof if profiled else plain).append(run(profiled, n))
    ratios = [p / q for p, q in zip(prof, plain)]
    mp, mq = statistics.median(plain), statistics.median(prof)
    print(f"bench_asyncio: {reps} repetitions of {n} round trips, load {os.getloadavg()[0]:.2f}")
    print(f"asyncio_sleep0_plain: {mp:.0f} ns/round trip (min {min(plain):.0f}, max {max(plain):.0f})")
    print(f"asyncio_sleep0_profiled: {mq:.0f} ns/round trip (min {min(prof):.0f}, max {max(prof):.0f})")
    print(f"asyncio_profiled_to_plain: {statistics.median(ratios):.3f} x "
          f"(per-repetition {min(ratios):.3f}..{max(ratios):.3f}; goal <= 1.5)")
    print(f"asyncio_slice_overhead: {mq - mp:.0f} ns/round trip")


if __name__ == "__main__":
    main()
