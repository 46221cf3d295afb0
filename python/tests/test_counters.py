"""Counters, gauges and stages from Python: what reaches the segment (read here as a collector
reads it, from the layout in docs/segment-format.md), exact sums from many threads, and
TK_DISABLE_STAGES."""
import glob
import mmap
import os
import struct

import pytest

from conftest import run_python

# Offsets in the header (format/segment.h; checked against offsetof when this test was written).
NAMES_OFFSET, RINGS_OFFSET, RING_STRIDE, NAME_COUNT, RING_COUNT = 80, 88, 96, 120, 124
AREA_COUNTERS = 2952


def read_segment(tk_dir):
    """{name: (kind, value)}: a counter's total summed over rings, a gauge's or stage's value."""
    (path,) = glob.glob(os.path.join(str(tk_dir), "timekeeper-*.seg"))
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    try:
        names_off, rings_off, stride = (struct.unpack_from("<Q", m, o)[0]
                                        for o in (NAMES_OFFSET, RINGS_OFFSET, RING_STRIDE))
        nnames, nrings = struct.unpack_from("<II", m, NAME_COUNT)
        values_off, gauges_off, count = struct.unpack_from("<QQI", m, AREA_COUNTERS)
        assert values_off and gauges_off and count >= nnames
        out = {}
        for i in range(1, nnames):
            kind, length = struct.unpack_from("<HH", m, names_off + 64 * i)
            name = m[names_off + 64 * i + 8: names_off + 64 * i + 8 + length].decode()
            if kind == 3:
                total = sum(struct.unpack_from("<Q", m, rings_off + r * stride + values_off + 8 * i)[0]
                            for r in range(nrings))
                out[name] = ("counter", total)
            elif kind in (4, 7):
                out[name] = ("gauge" if kind == 4 else "stage",
                             struct.unpack_from("<q", m, gauges_off + 8 * i)[0])
        return out
    finally:
        m.close()


def test_counter_adds_from_many_threads_sum_exactly(tk_dir):
    p = run_python("""
        import threading, timekeeper as tk
        c = tk.counter("py.items")
        shares = []
        def work(k):
            for _ in range(5000):
                c.add(k)
            shares.append(c.thread_value)
        ts = [threading.Thread(target=work, args=(k,)) for k in (1, 2, 3, 4)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(*shares)
        tk.counter("py.items").add()   # the same counter again
    """, tk_dir)
    assert sorted(int(x) for x in p.stdout.split()) == [5000, 10000, 15000, 20000]
    assert read_segment(tk_dir)["py.items"] == ("counter", 50001)


def test_gauge_keeps_the_latest_value(tk_dir):
    p = run_python("""
        import timekeeper as tk
        g = tk.gauge("py.queue")
        g.set(10); g.set(-42)
        print(g.value)
    """, tk_dir)
    assert p.stdout.strip() == "-42"
    assert read_segment(tk_dir)["py.queue"] == ("gauge", -42)


def test_disabled_stages_are_off_and_shown_in_the_segment(tk_dir):
    p = run_python("""
        import timekeeper as tk
        print(tk.stage("dissect"), tk.stage("publish"), tk.stage("emit"))
    """, tk_dir, env={"TK_DISABLE_STAGES": "publish,emit"})
    assert p.stdout.split() == ["True", "False", "False"]
    seg = read_segment(tk_dir)
    assert seg["dissect"] == ("stage", 1) and seg["publish"] == ("stage", 0)


def test_bad_names_and_handles_raise():
    import timekeeper as tk
    with pytest.raises(ValueError):
        tk.counter("has space")
    with pytest.raises(TypeError):
        tk.gauge(3)
    with pytest.raises(ValueError):
        tk._timekeeper._counter_add(10 ** 6, 1)
    with pytest.raises(OverflowError):
        tk.counter("py.neg").add(-1)
