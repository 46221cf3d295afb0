"""python3 -m timekeeper.calibrate — what timekeeper costs from Python, next to two floors: the
floor of any Python-to-C call (noop(), a C function that does nothing) and the fair floor of a
point (noop_point(), which takes point()'s arguments and does nothing with them); and the eventfd
system calls that an asynchronous Python-to-C flow pays.

Every probe runs a loop of calls (`for _ in itertools.repeat(None, n)`, as timeit does) with the
garbage collector off; the rounds of all probes are interleaved and each probe keeps its fastest
round, so a noisy machine perturbs every probe alike. A reported cost is per loop iteration, loop
included (its share is the "empty loop" row); "x noop" divides by the noop() row. The two verdicts
set the bests against each other (the undisturbed cost, as timeit advises); next to each, in
brackets, the median over rounds of the ratio within one round (a point against its floor a few
milliseconds apart), which a machine under load pushes up: there the point's ring stores suffer
more than an empty call does.

    python3 -m timekeeper.calibrate            # a few seconds
    python3 -m timekeeper.calibrate --quick    # about a second, noisier
    python3 -m timekeeper.calibrate --json

The run records a few million points. They go to a private temporary directory that is removed
at the end, whatever TK_DIR says, as `timekeeper calibrate` does (a caller that initialised the
library itself keeps its own segment); TK_DISABLE=1 measures the disabled path.
"""
import argparse
import gc
import itertools
import json
import os
import platform
import select
import shutil
import statistics
import sys
import tempfile
import threading
import time
import timeit

import timekeeper as tk

GOAL_POINT_RATIO = 1.5  # point("LABEL") <= 1.5 x noop()
GOAL_POINT_IDS_RATIO = 1.5  # point(label, client, command, session) <= 1.5 x noop_point(same)


def _stmt_probe(stmt, setup=""):
    """A probe timing `stmt` in a timeit loop: returns run(n) -> seconds for n iterations."""
    namespace = {"tk": tk, "os": os, "select": select}
    t = timeit.Timer(stmt, setup=setup, globals=namespace)
    return t.timeit


def _make_eventfd_probes():
    """Probes whose loop needs state: each returns run(n) -> (seconds, iterations done)."""

    def create(n):
        n = min(n, 256)  # each eventfd stays open until the round ends (RLIMIT_NOFILE)
        fds = [-1] * n
        make = os.eventfd
        t0 = time.perf_counter()
        for i in range(n):
            fds[i] = make(0)
        t1 = time.perf_counter()
        for fd in fds:
            os.close(fd)
        return t1 - t0, n

    def close(n):
        n = min(n, 256)
        fds = [os.eventfd(0) for _ in range(n)]
        shut = os.close
        t0 = time.perf_counter()
        for fd in fds:
            shut(fd)
        return time.perf_counter() - t0, n

    def write(n):
        fd = os.eventfd(0)
        w = os.eventfd_write
        try:
            t0 = time.perf_counter()
            for _ in itertools.repeat(None, n):
                w(fd, 1)
            return time.perf_counter() - t0, n
        finally:
            os.close(fd)

    def read(n):
        # semaphore mode: one write of n, then n reads of 1 each, none of them blocking
        fd = os.eventfd(0, os.EFD_SEMAPHORE | os.EFD_NONBLOCK)
        r = os.eventfd_read
        try:
            os.eventfd_write(fd, n)
            t0 = time.perf_counter()
            for _ in itertools.repeat(None, n):
                r(fd)
            return time.perf_counter() - t0, n
        finally:
            os.close(fd)

    def select_ready(n):
        fd = os.eventfd(1)
        sel = select.select
        rl = [fd]
        try:
            t0 = time.perf_counter()
            for _ in itertools.repeat(None, n):
                sel(rl, [], [], None)
            return time.perf_counter() - t0, n
        finally:
            os.close(fd)

    def wake(n):
        # ping-pong between two threads over two eventfds, each side blocked in select():
        # one iteration is one wake-up of the other thread (the GIL handover included)
        n = max(2, min(n, 2000))
        ping, pong = os.eventfd(0), os.eventfd(0)
        rounds = n // 2

        def peer():
            for _ in range(rounds):
                select.select([ping], [], [], None)
                os.eventfd_read(ping)
                os.eventfd_write(pong, 1)

        th = threading.Thread(target=peer, name="tk-calibrate")
        th.start()
        try:
            t0 = time.perf_counter()
            for _ in range(rounds):
                os.eventfd_write(ping, 1)
                select.select([pong], [], [], None)
                os.eventfd_read(pong)
            t1 = time.perf_counter()
        finally:
            th.join()
            os.close(ping)
            os.close(pong)
        return t1 - t0, 2 * rounds

    return create, close, write, read, select_ready, wake


def _probes():
    """(key, description, run) where run(n) -> (seconds, iterations)."""
    def stmt(s, setup=""):
        run = _stmt_probe(s, setup)
        return lambda n: (run(n), n)

    create, close, write, read, select_ready, wake = _make_eventfd_probes()
    return [
        ("loop", "empty loop", stmt("pass")),
        ("noop", "noop()", stmt("noop()", "noop = tk.noop")),
        ("noop_point", "noop_point(label, client, command, session)",
         stmt('noop_point("CALIBRATE", 1, 42, 7)', "noop_point = tk.noop_point")),
        ("now", "now()", stmt("now()", "now = tk.now")),
        ("point", 'point("LABEL")', stmt('point("CALIBRATE")', "point = tk.point")),
        ("point_ids", 'point("LABEL", client, command, session)',
         stmt('point("CALIBRATE", 1, 42, 7)', "point = tk.point")),
        ("point_ctx", 'point("LABEL", client, command, session, efd=5)',
         stmt('point("CALIBRATE", 1, 42, 7, efd=5)', "point = tk.point")),
        ("label_point", "label.point(client, command, session)",
         stmt("lp(1, 42, 7)", 'lp = tk.label("CALIBRATE").point')),
        ("timer_with", "timer pair: with t: pass",
         stmt("with t: pass", 't = tk.timer("calibrate")')),
        ("timer_start_stop", "timer pair: t.stop(t.start())",
         stmt("stop(start())", 't = tk.timer("calibrate"); start = t.start; stop = t.stop')),
        ("eventfd_create", "eventfd create: os.eventfd(0)", create),
        ("eventfd_close", "eventfd close: os.close(fd)", close),
        ("eventfd_write", "eventfd write: os.eventfd_write(fd, 1)", write),
        ("eventfd_read", "eventfd read: os.eventfd_read(fd)", read),
        ("select_ready", "select() on a ready eventfd", select_ready),
        ("wake", "eventfd wake-up of a thread in select()", wake),
    ]


def loop_sizes(probes, round_seconds):
    """{key: iterations} so that one round of each probe takes about round_seconds.

    The first calls of a probe pay for what happens once (a label registered, this thread's ring
    claimed, code warmed), so they run before the sizing: taken for the cost of a call, they once
    made point()'s round 27 calls long, which timed the loop's own setup instead of point(). A
    size is measured over at least 1024 calls (unless the probe caps its own loop), so that one
    interruption of a short run cannot shrink the rounds either."""
    sizes = {}
    for key, _, run in probes:
        run(16)
        n = 16
        while True:
            secs, done = run(n)
            if (secs >= round_seconds / 10 and n >= 1024) or done < n or n >= 1 << 26:
                break
            n *= 4
        per = secs / max(done, 1)
        sizes[key] = max(1, int(round_seconds / per)) if per > 0 else n
    return sizes


def measure(rounds, round_seconds, out=None, samples=None):
    """Returns {key: (description, best ns per iteration)} over `rounds` interleaved rounds; with
    a dict `samples`, also fills it with each probe's ns per iteration, round by round."""
    probes = _probes()
    sizes = loop_sizes(probes, round_seconds)
    best = {key: float("inf") for key, _, _ in probes}
    if samples is not None:
        samples.update({key: [] for key, _, _ in probes})
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            for key, _, run in probes:
                secs, done = run(sizes[key])
                best[key] = min(best[key], secs * 1e9 / done)
                if samples is not None:
                    samples[key].append(secs * 1e9 / done)
            if out:
                print(f"\rround {r + 1}/{rounds}", end="", file=out, flush=True)
    finally:
        if gc_was:
            gc.enable()
        if out:
            print("\r" + " " * 20 + "\r", end="", file=out, flush=True)
    return {key: (desc, best[key]) for key, desc, _ in probes}


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m timekeeper.calibrate",
        description="Measures the cost of timekeeper's Python calls against noop(), the floor "
                    "of a Python-to-C call, and of the eventfd calls of an async flow.")
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 1 s)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 60, --quick 12)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    # many short rounds: on a busy machine some of them run undisturbed, and the best is kept
    rounds = args.rounds or (12 if args.quick else 60)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    round_seconds = 0.001 if args.quick else 0.002
    # millions of records would otherwise stay in TK_DIR as a dead process's segment
    private_dir = tempfile.mkdtemp(prefix="timekeeper-calibrate-",
                                   dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        tk.init(dir=private_dir)
    except RuntimeError:  # already initialised by the caller: measure into its segment
        shutil.rmtree(private_dir, ignore_errors=True)
        private_dir = None
    try:
        return _run(args, rounds, round_seconds)
    finally:
        if private_dir:
            shutil.rmtree(private_dir, ignore_errors=True)


def paired_ratio(samples, key, floor):
    """The median over rounds of key's cost / floor's cost in the same round: two probes timed
    milliseconds apart see the machine at the same speed, so this is the typical ratio on this
    machine as it is, where the ratio of the bests is the undisturbed one."""
    return statistics.median(a / b for a, b in zip(samples[key], samples[floor]))


def _run(args, rounds, round_seconds):
    samples = {}
    results = measure(rounds, round_seconds, out=None if args.json or not sys.stderr.isatty()
                      else sys.stderr, samples=samples)
    noop = results["noop"][1]
    point_ratio = results["point"][1] / noop
    ids_ratio = results["point_ids"][1] / results["noop_point"][1]
    point_rounds = paired_ratio(samples, "point", "noop")
    ids_rounds = paired_ratio(samples, "point_ids", "noop_point")
    info = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "timekeeper": tk.__version__,
        "clock": tk.clock_source(),
        "ticks_per_second": tk.ticks_per_second(),
        "recording": tk.enabled(),
        "timing_text": tk.timing_enabled(),
        "rounds": rounds,
    }
    if args.json:
        json.dump({**info,
                   "probes": [{"name": k, "description": d, "ns": round(ns, 2),
                               "ratio_to_noop": round(ns / noop, 3)}
                              for k, (d, ns) in results.items()],
                   "goal": {"point_ratio": round(point_ratio, 3), "max": GOAL_POINT_RATIO,
                            "met": point_ratio <= GOAL_POINT_RATIO,
                            "median_of_rounds": round(point_rounds, 3)},
                   "goal_ids": {"point_ids_ratio": round(ids_ratio, 3),
                                "max": GOAL_POINT_IDS_RATIO,
                                "met": ids_ratio <= GOAL_POINT_IDS_RATIO,
                                "median_of_rounds": round(ids_rounds, 3)}},
                  sys.stdout, indent=2)
        print()
        return 0
    print(f"timekeeper {info['timekeeper']} from Python {info['python']} ({sys.executable}), "
          f"clock {info['clock']} at {info['ticks_per_second'] / 1e9:.3f} GHz, "
          f"recording {'on' if info['recording'] else 'off'}"
          f"{', TIMING text on' if info['timing_text'] else ''}; best of {rounds} rounds")
    print()
    print(f"{'probe':<50} {'ns/call':>9} {'x noop':>7}")
    for key, (desc, ns) in results.items():
        print(f"{desc:<50} {ns:>9.1f} {ns / noop:>7.2f}")
    print()
    print(f"Verdicts: best against best, as above; in brackets the median over the {rounds} "
          f"rounds of each round's own ratio")
    verdict = "met" if point_ratio <= GOAL_POINT_RATIO else "NOT met"
    print(f"point() / noop() = {point_ratio:.3f} (goal <= {GOAL_POINT_RATIO}: {verdict}) "
          f"[{point_rounds:.3f}]; net of the loop: "
          f"{(results['point'][1] - results['loop'][1]):.1f} ns vs "
          f"{(noop - results['loop'][1]):.1f} ns")
    verdict = "met" if ids_ratio <= GOAL_POINT_IDS_RATIO else "NOT met"
    print(f"point(label, client, command, session) / noop_point(same) = {ids_ratio:.3f} "
          f"(goal <= {GOAL_POINT_IDS_RATIO}: {verdict}) [{ids_rounds:.3f}]; floors: noop() "
          f"{noop:.1f} ns, noop_point() {results['noop_point'][1]:.1f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
