"""`python3 -m timekeeper.calibrate`: every probe is measured and set against noop()."""
import json
import os
import re

from conftest import run_python

PROBES = ["loop", "noop", "noop_point", "now", "point", "point_ids", "point_ctx", "label_point", "timer_with",
          "timer_start_stop", "eventfd_create", "eventfd_close", "eventfd_write", "eventfd_read",
          "select_ready", "wake"]


def calibrate(tk_dir, *args):
    return run_python("import runpy, sys; sys.argv[0] = 'calibrate';"
                      "runpy.run_module('timekeeper.calibrate', run_name='__main__')",
                      tk_dir, args=["--quick", *args], timeout=300)


def test_calibrate_table_gives_each_probe_its_cost_and_ratio_to_noop(tk_dir):
    out = calibrate(tk_dir).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(.+?)\s+(\d+\.\d)\s+(\d+\.\d\d)$", line)
        if m:
            rows[m[1]] = (float(m[2]), float(m[3]))
    for name in ["noop()", 'point("LABEL")', "timer pair: with t: pass",
                 "eventfd create: os.eventfd(0)", "eventfd write: os.eventfd_write(fd, 1)",
                 "eventfd read: os.eventfd_read(fd)"]:
        assert name in rows, out
        assert rows[name][0] > 0
    assert rows["noop()"][1] == 1.0
    ns, ratio = rows['point("LABEL")']
    assert abs(ns / rows["noop()"][0] - ratio) < 0.03, out  # both printed rounded
    assert re.search(r"point\(\) / noop\(\) = \d+\.\d\d \(goal <= 1\.5: (met|NOT met)\)", out), out


def test_calibrate_json_lists_every_probe(tk_dir):
    d = json.loads(calibrate(tk_dir, "--json").stdout)
    assert [p["name"] for p in d["probes"]] == PROBES
    by = {p["name"]: p for p in d["probes"]}
    assert by["noop"]["ratio_to_noop"] == 1.0
    assert all(p["ns"] > 0 for p in d["probes"])
    # a sanity bound, not the benchmark goal (which calibrate itself reports): a point is a
    # handful of noop()s even in a debug build under AddressSanitizer
    assert by["point"]["ratio_to_noop"] < 20, by
    goal = d["goal"]
    assert goal["max"] == 1.5 and goal["point_ratio"] == by["point"]["ratio_to_noop"]
    if abs(goal["point_ratio"] - 1.5) > 0.001:  # point_ratio is rounded to 3 decimals
        assert goal["met"] == (goal["point_ratio"] <= 1.5), goal
    assert d["recording"] is True and d["python"].startswith("3.")


def test_calibrate_prints_both_floors_and_the_fair_ratio(tk_dir):
    out = calibrate(tk_dir).stdout
    assert re.search(r"^noop_point\(label, client, command, session\)\s+\d+\.\d\s+\d+\.\d\d$", out,
                     re.M), out
    assert re.search(r"point\(label, client, command, session\) / noop_point\(same\) = \d+\.\d\d "
                     r"\(goal <= 1\.5: (met|NOT met)\); floors: noop\(\) \d+\.\d ns, "
                     r"noop_point\(\) \d+\.\d ns", out), out


def test_calibrate_with_tk_dir_set_leaves_no_segment_behind(tk_dir):
    calibrate(tk_dir)  # runs with TK_DIR=tk_dir
    assert os.listdir(tk_dir) == []
