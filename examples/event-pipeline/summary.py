#!/usr/bin/python3
"""Prints the per-component timing of a timekeeper recording (docs/recording-schema.md).

    summary.py run.db [--events N] [--json]

`absolute` (the whole run), then for each callback every component with `__ALL__` (every call
of a repeated callback: count, total and each call with its file or run number), then the
per-event table: one row per event, a column per component and `__ALL__`, and `completed`.
Only the standard library's sqlite3 is needed. decode_spans() and decode_hist() show how to read
the two encoded columns (span_blocks.data and stats.hist).
"""

import argparse
import json
import sqlite3
import sys

CALLBACKS = ["process_start", "process_end", "file_open", "file_close", "before_new_run", "new_run"]


def varints(data, pos=0):
    """Yields the unsigned LEB128 varints of data from pos."""
    value = shift = 0
    for i in range(pos, len(data)):
        b = data[i]
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            yield value
            value = shift = 0


def decode_spans(n, first_start_ns, data):
    """The spans of one span_blocks row: (timer, start_ns, dur_ns, lat_ns or None)."""
    it, start, out = varints(data), first_start_ns, []
    for _ in range(n):
        timer, z, dur, lat1 = next(it), next(it), next(it), next(it)
        start += (z >> 1) ^ -(z & 1)
        out.append((timer, start, dur, lat1 - 1 if lat1 else None))
    return out


def decode_hist(blob):
    """The buckets of a stats.hist blob (encoding 1): [(low bound ns, count), ...]."""
    if not blob or blob[0] != 1:
        raise ValueError("not a histogram of encoding 1")
    it = varints(blob, 1)
    n, low, out = next(it), 0, []
    for _ in range(n):
        low += next(it)
        out.append((low, next(it)))
    return out


def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g}{unit}"
    return f"{ns}ns"


def load(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if not version or version[0] != "1":
        sys.exit(f"summary.py: {path}: not a recording of schema version 1")
    rec = {"processes": []}
    for pid, proc_id, name in db.execute("SELECT pid, id, name FROM processes ORDER BY id"):
        comps = db.execute(
            "SELECT id, name FROM components WHERE process = ? ORDER BY name = '__ALL__', name_id",
            (proc_id,)).fetchall()
        if not comps:
            continue
        names = {cid: cname for cid, cname in comps}
        order = [cname for _, cname in comps]
        p = {"pid": pid, "name": name, "components": order, "absolute": None, "callbacks": {},
             "events": []}
        row = db.execute("SELECT start_ns, dur_ns FROM calls WHERE process = ? AND callback = 'absolute'"
                         " ORDER BY id LIMIT 1", (proc_id,)).fetchone()
        if row:
            p["absolute"] = {"start_ns": row[0], "dur_ns": row[1]}
        for cb in CALLBACKS:
            per = {}
            for comp, arg, start, dur, status in db.execute(
                    "SELECT component, arg, start_ns, dur_ns, status FROM calls"
                    " WHERE process = ? AND callback = ? ORDER BY id", (proc_id, cb)):
                per.setdefault(names[comp], []).append(
                    {"arg": arg, "start_ns": start, "dur_ns": dur, "status": status})
            p["callbacks"][cb] = {c: per[c] for c in order if c in per}
        events = {}
        for ev_id, number, completed in db.execute(
                "SELECT id, event, completed FROM events WHERE process = ? ORDER BY id", (proc_id,)):
            events[ev_id] = {"event": number, "completed": bool(completed), "times": {}}
        for ev_id, comp, dur in db.execute(
                "SELECT event, component, dur_ns FROM calls WHERE process = ? AND callback = 'event'"
                " ORDER BY id", (proc_id,)):
            if ev_id in events:
                events[ev_id]["times"][names[comp]] = dur
        p["events"] = list(events.values())
        rec["processes"].append(p)
    db.close()
    return rec


def print_text(rec, max_events, out):
    if not rec["processes"]:
        print("no component timing in this recording", file=out)
    for p in rec["processes"]:
        print(f"process {p['name']} (pid {p['pid']})", file=out)
        a = p["absolute"]
        print("absolute", file=out)
        print(f"   {fmt_ns(a['dur_ns']) if a else '- (the run did not end)'}"
              f"{'  start ' + str(a['start_ns']) if a else ''}", file=out)
        for cb, per in p["callbacks"].items():
            print(cb, file=out)
            for comp, calls in per.items():
                total = sum(c["dur_ns"] for c in calls)
                each = ", ".join(f"{fmt_ns(c['dur_ns'])}" + (f"@{c['arg']}" if cb not in
                                 ("process_start", "process_end") else "") for c in calls[:6])
                more = f", ... ({len(calls) - 6} more)" if len(calls) > 6 else ""
                print(f"   {comp:12s} {len(calls):3d} call{'s' if len(calls) != 1 else ' '}"
                      f"  total {fmt_ns(total):>8s}   {each}{more}", file=out)
        comps = p["components"]
        evs = p["events"]
        done = sum(e["completed"] for e in evs)
        print(f"by_event ({len(evs)} events, {done} completed, {len(evs) - done} aborted)", file=out)
        print("   " + " ".join(f"{h:>11s}" for h in ["event"] + comps + ["completed"]), file=out)
        shown = evs if max_events < 0 else evs[:max_events]
        for e in shown:
            cells = [str(e["event"])] + [fmt_ns(e["times"].get(c)) for c in comps]
            cells.append("true" if e["completed"] else "false")
            print("   " + " ".join(f"{c:>11s}" for c in cells), file=out)
        if len(shown) < len(evs):
            print(f"   ... {len(evs) - len(shown)} more events (--events -1 shows all)", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recording")
    ap.add_argument("--events", type=int, default=20, help="events of the table to show (-1: all)")
    ap.add_argument("--json", action="store_true", help="everything as one JSON object")
    args = ap.parse_args()
    rec = load(args.recording)
    if args.json:
        json.dump(rec, sys.stdout, indent=2)
        print()
    else:
        print_text(rec, args.events, sys.stdout)


if __name__ == "__main__":
    main()
