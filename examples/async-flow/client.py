"""client.py — the Python side of the async-flow example: a client of libasyncflow (a C library whose
worker thread completes requests after a delay and signals an eventfd), instrumented at every step
of the Python -> C async flow (docs/analyze.md) with timekeeper points.

    send_request_and_await(value, delay_ns)      synchronous: send, check, select, read, check
    send_request(value, delay_ns) -> command     asynchronous: send only
    await_request(command)                       ... then check, select, read, check

A zero delay completes inside the send (the fast path: the response is ready at the first check); a
positive delay completes on the worker thread (the slow path: select() waits on the eventfd).

Run it with TK_TIMING=1 TK_TIMING_FILE=timing.log and analyse with
`timekeeper analyze --spec async-flow.spec timing.log` (run.sh does both).
"""
import argparse
import os
import random
import select
import sys
import time

import timekeeper as tk

import _asyncflow

# One Label per point: .point() records without looking the name up.
# send_request_and_await (T1..T12)
T1 = tk.label("PY_SEND_AND_AWAIT_ENTRY")
T2 = tk.label("PY_BEFORE_ASYNC_SEND")
T3 = tk.label("PY_AFTER_ASYNC_SEND")
T4 = tk.label("PY_BEFORE_FIRST_GET_RESPONSE")
T5 = tk.label("PY_AFTER_FIRST_GET_RESPONSE")
T6 = tk.label("PY_BEFORE_SELECT")
T7 = tk.label("PY_AFTER_SELECT")
T8 = tk.label("PY_BEFORE_EFD_READ")
T9 = tk.label("PY_AFTER_EFD_READ")
T10 = tk.label("PY_BEFORE_SECOND_GET_RESPONSE")
T11 = tk.label("PY_AFTER_SECOND_GET_RESPONSE")
T12_FAST = tk.label("PY_SEND_AND_AWAIT_EXIT_FAST")
T12_SLOW = tk.label("PY_SEND_AND_AWAIT_EXIT_SLOW")
# send_request (S1..S4)
S1 = tk.label("PY_SEND_REQUEST_ENTRY")
S2 = tk.label("PY_SEND_REQUEST_BEFORE_ASYNC_SEND")
S3 = tk.label("PY_SEND_REQUEST_AFTER_ASYNC_SEND")
S4 = tk.label("PY_SEND_REQUEST_EXIT")
# await_request (A1..A10)
A1 = tk.label("PY_AWAIT_REQUEST_ENTRY")
A2 = tk.label("PY_AWAIT_REQUEST_BEFORE_GET_RESPONSE")
A3 = tk.label("PY_AWAIT_REQUEST_AFTER_GET_RESPONSE")
A4 = tk.label("PY_AWAIT_REQUEST_BEFORE_SELECT")
A5 = tk.label("PY_AWAIT_REQUEST_AFTER_SELECT")
A6 = tk.label("PY_AWAIT_REQUEST_BEFORE_EFD_READ")
A7 = tk.label("PY_AWAIT_REQUEST_AFTER_EFD_READ")
A8 = tk.label("PY_AWAIT_REQUEST_BEFORE_SECOND_GET_RESPONSE")
A9 = tk.label("PY_AWAIT_REQUEST_AFTER_SECOND_GET_RESPONSE")
A10_FAST = tk.label("PY_AWAIT_REQUEST_EXIT_FAST")
A10_SLOW = tk.label("PY_AWAIT_REQUEST_EXIT_SLOW")


class Client:
    """A libasyncflow client. Ids: `client_id` for every point; `session` per call (the unknown-
    command points before a send are matched to its command by (client, session), so two threads
    sending at once must use different sessions)."""

    def __init__(self, client_id=0):
        self.client_id = client_id
        self._c = _asyncflow.Client(client_id)

    def close(self):
        self._c.close()

    def send_request_and_await(self, value, delay_ns, session=1):
        """Sends a request and blocks until its response; returns the result (value * 2)."""
        c = self.client_id
        T1.point(c, None, session, op="double")
        T2.point(c, None, session)
        command = self._c.send(session, delay_ns, value)
        T3.point(c, command, session)
        T4.point(c, command, session)
        ready, result, efd = self._c.get_response(command)
        T5.point(c, command, session, success=ready)
        if ready:
            T12_FAST.point(c, command, session)
            return result
        T6.point(c, command, session, efd=efd)
        select.select([efd], [], [])
        T7.point(c, command, session)
        T8.point(c, command, session)
        os.eventfd_read(efd)
        T9.point(c, command, session)
        T10.point(c, command, session)
        ready, result, _ = self._c.get_response(command)
        T11.point(c, command, session, success=ready)
        T12_SLOW.point(c, command, session)
        if not ready:
            raise RuntimeError(f"command {command}: signalled but not done")
        return result

    def send_request(self, value, delay_ns, session=2):
        """Sends a request without waiting; returns its command id for await_request()."""
        c = self.client_id
        S1.point(c, None, session, op="double")
        S2.point(c, None, session)
        command = self._c.send(session, delay_ns, value)
        S3.point(c, command, session)
        S4.point(c, command, session)
        return command

    def await_request(self, command, session=2):
        """Waits for the response of a command sent by send_request(); returns the result."""
        c = self.client_id
        A1.point(c, command, session)
        A2.point(c, command, session)
        ready, result, efd = self._c.get_response(command)
        A3.point(c, command, session, success=ready)
        if ready:
            A10_FAST.point(c, command, session)
            return result
        A4.point(c, command, session, efd=efd)
        select.select([efd], [], [])
        A5.point(c, command, session)
        A6.point(c, command, session)
        os.eventfd_read(efd)
        A7.point(c, command, session)
        A8.point(c, command, session)
        ready, result, _ = self._c.get_response(command)
        A9.point(c, command, session, success=ready)
        A10_SLOW.point(c, command, session)
        if not ready:
            raise RuntimeError(f"command {command}: signalled but not done")
        return result


def run(duration, delay_ns, fast_share, mode, in_flight, seed, max_requests=None):
    """Sends requests for `duration` seconds (or max_requests); returns the counts by API."""
    rng = random.Random(seed)
    client = Client(client_id=0)
    counts = {"sync": 0, "async": 0, "fast_requested": 0}
    end = time.monotonic() + duration
    value = 0
    try:
        while time.monotonic() < end:
            if max_requests is not None and counts["sync"] + counts["async"] >= max_requests:
                break
            apis = ["sync", "async"] if mode == "both" else [mode]
            for api in apis:
                if api == "sync":
                    fast = rng.random() < fast_share
                    counts["fast_requested"] += fast
                    value += 1
                    got = client.send_request_and_await(value, 0 if fast else delay_ns)
                    if got != 2 * value:
                        raise AssertionError(f"request {value}: got {got}")
                    counts["sync"] += 1
                else:
                    sent = []
                    for _ in range(in_flight):
                        fast = rng.random() < fast_share
                        counts["fast_requested"] += fast
                        value += 1
                        sent.append((value, client.send_request(value, 0 if fast else delay_ns)))
                    for v, command in sent:
                        got = client.await_request(command)
                        if got != 2 * v:
                            raise AssertionError(f"request {v}: got {got}")
                    counts["async"] += len(sent)
    finally:
        client.close()
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds to run (default 3)")
    ap.add_argument("--requests", type=int, help="stop after this many requests")
    ap.add_argument("--delay-us", type=float, default=500.0,
                    help="the worker's delay for a slow request, in microseconds (default 500)")
    ap.add_argument("--fast-share", type=float, default=0.3,
                    help="share of requests with no delay, completed at once (default 0.3)")
    ap.add_argument("--mode", choices=["sync", "async", "both"], default="both",
                    help="send_request_and_await, send_request + await_request, or both")
    ap.add_argument("--in-flight", type=int, default=4,
                    help="async mode: requests sent before awaiting them (default 4)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.delay_us < 0 or not 0 <= args.fast_share <= 1 \
            or args.in_flight < 1:
        ap.error("--duration > 0, --delay-us >= 0, --fast-share in [0, 1], --in-flight >= 1")
    delay_ns = int(args.delay_us * 1000)
    counts = run(args.duration, delay_ns, args.fast_share, args.mode, args.in_flight, args.seed,
                 args.requests)
    print(f"async-flow: {counts['sync']} send_request_and_await, {counts['async']} "
          f"send_request + await_request; {counts['fast_requested']} with no delay, the others "
          f"{delay_ns} ns; TIMING text {'on' if tk.timing_enabled() else 'off'}",
          file=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
