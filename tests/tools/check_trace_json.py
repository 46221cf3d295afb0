#!/usr/bin/python3
"""Structural check of a Trace Event JSON file written by `timekeeper export --format chrome`.

Checks: a JSON object with traceEvents and displayTimeUnit; complete events ("X") carry name,
ts and dur in microseconds (numbers, dur >= 0), pid and tid; every process and thread with events
is named by process_name/thread_name metadata; the complete events of each thread nest (each one
lies inside the enclosing one or after it). Prints a one-line summary; exits 1 on a problem.
"""
import argparse
import json
import sys
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--show", help="print ts/dur of the first complete event with this name")
    ap.add_argument("--expect-complete", type=int, help="the number of complete events")
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        sys.exit("not a Trace Event JSON object")
    if doc.get("displayTimeUnit") not in ("ns", "ms"):
        problems.append("displayTimeUnit missing")
    procs, threads = {}, {}
    per_thread = defaultdict(list)
    counts = defaultdict(int)
    used_pids, used_threads = set(), set()
    shown = None
    for e in doc["traceEvents"]:
        ph = e.get("ph")
        counts[ph] += 1
        if ph == "M":
            if e.get("name") == "process_name":
                procs[e["pid"]] = e["args"]["name"]
            elif e.get("name") == "thread_name":
                threads[(e["pid"], e["tid"])] = e["args"]["name"]
            continue
        if not isinstance(e.get("ts"), (int, float)) or not isinstance(e.get("name"), str):
            problems.append("event without numeric ts or name: %r" % e)
            continue
        used_pids.add(e.get("pid"))
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                problems.append("complete event with a bad dur: %r" % e)
                continue
            per_thread[(e["pid"], e["tid"])].append((e["ts"], e["dur"], e["name"]))
            used_threads.add((e["pid"], e["tid"]))
            if args.show and e["name"] == args.show and shown is None:
                shown = "ts[%s]=%r dur[%s]=%r" % (e["name"], e["ts"], e["name"], e["dur"])
        elif ph == "i":
            used_threads.add((e["pid"], e["tid"]))
    for pid in used_pids:
        if pid not in procs:
            problems.append("process %r has no process_name" % pid)
    for t in used_threads:
        if t not in threads:
            problems.append("thread %r has no thread_name" % (t,))
    eps = 1e-9  # ts and dur have ns digits: compare exactly up to float rounding
    for t, evs in per_thread.items():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []
        for ts, dur, name in evs:
            end = ts + dur
            while stack and stack[-1][1] <= ts + eps:
                stack.pop()
            if stack and end > stack[-1][1] + eps:
                problems.append("thread %r: %s [%r, %r] overlaps %s without nesting"
                                % (t, name, ts, end, stack[-1][2]))
                break
            stack.append((ts, end, name))
    if args.expect_complete is not None and counts["X"] != args.expect_complete:
        problems.append("expected %d complete events, found %d" % (args.expect_complete, counts["X"]))
    for p in problems[:20]:
        print("problem:", p)
    print("threads=%d complete=%d instants=%d counters=%d" %
          (len(threads), counts["X"], counts["i"], counts["C"]))
    if shown:
        print(shown)
    sys.exit(1 if problems else 0)


main()
