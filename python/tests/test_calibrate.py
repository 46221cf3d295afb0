"""`python3 -m timekeeper.calibrate`: every probe is measured and set against noop()."""
import json
import os
import re
import time

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
    assert re.search(r"point\(\) / noop\(\) = \d+\.\d\d\d \(goal <= 1\.5: (met|NOT met)\) "
                     r"\[\d+\.\d\d\d\]", out), out


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
    for g, key in ((goal, "point_ratio"), (d["goal_ids"], "point_ids_ratio")):
        if abs(g[key] - 1.5) > 0.001:  # the ratios are rounded to 3 decimals
            assert g["met"] == (g[key] <= 1.5), g
        # the median of per-round ratios: the same quantity, so of the same order as the ratio
        # of the bests (wide bounds: a loaded machine disturbs the rounds, --quick has 12)
        assert 0.2 < g["median_of_rounds"] / g[key] < 5, g
    assert d["recording"] is True and d["python"].startswith("3.")


def test_calibrate_prints_both_floors_and_the_fair_ratio(tk_dir):
    out = calibrate(tk_dir).stdout
    assert re.search(r"^noop_point\(label, client, command, session\)\s+\d+\.\d\s+\d+\.\d\d$", out,
                     re.M), out
    assert re.search(r"point\(label, client, command, session\) / noop_point\(same\) = "
                     r"\d+\.\d\d\d \(goal <= 1\.5: (met|NOT met)\) \[\d+\.\d\d\d\]; "
                     r"floors: noop\(\) \d+\.\d ns, noop_point\(\) \d+\.\d ns", out), out


def test_calibrate_with_tk_dir_set_leaves_no_segment_behind(tk_dir):
    calibrate(tk_dir)  # runs with TK_DIR=tk_dir
    assert os.listdir(tk_dir) == []


def test_loop_sizes_are_not_fooled_by_a_slow_first_call():
    # a probe whose first call pays a one-time cost (as point()'s first call registers its label
    # and claims a ring) must still get rounds of the size its steady cost asks for
    from timekeeper import calibrate as cal
    state = {"calls": 0}

    def run(n):
        state["calls"] += 1
        t0 = time.perf_counter()
        if state["calls"] == 1:
            time.sleep(0.01)  # the one-time cost: 10 ms, five rounds' worth
        for _ in range(n):
            pass
        return time.perf_counter() - t0, n

    sizes = cal.loop_sizes([("slow_first", "a slow first call", run)], 0.002)
    # an empty Python loop costs well under 1 us per iteration anywhere: a 2 ms round is
    # thousands of them, where the first call's 10 ms made it 16 * 0.002 / 0.01 ~ 3
    assert sizes["slow_first"] > 1000, sizes


def test_paired_ratio_is_the_median_of_same_round_ratios():
    from timekeeper import calibrate as cal
    # a probe at 2 x its floor throughout, while the machine's speed changes 3-fold between
    # rounds: each round says 2; the bests (a fast round of one, a slow of the other) would not
    samples = {"p": [20.0, 60.0, 24.0, 66.0, 22.0], "floor": [10.0, 30.0, 12.0, 33.0, 11.0]}
    assert cal.paired_ratio(samples, "p", "floor") == 2.0
    samples = {"p": [30.0, 20.0, 40.0], "floor": [10.0, 10.0, 10.0]}
    assert cal.paired_ratio(samples, "p", "floor") == 3.0
