"""Points recorded from Python reach the collector with the right label, ids and context, and the
TIMING text lines have the documented format."""
import os
import re
import time

import pytest

from conftest import context_text, dump, points, run_python

NONE = None  # an unknown id reads back as null


def test_point_reaches_the_rings_with_its_ids_and_context(tk_dir):
    p = run_python("""
        import os, timekeeper as tk
        tk.point("PY_ENTRY")
        tk.point("PY_IDS", 1, 42, 7)
        tk.point("PY_KW", client=0, command=2**64 - 2, session=None)
        tk.point("PY_CTX", 3, None, 9, op="PUT", key="user:123", n=5)
        print(os.getpid())
    """, tk_dir)
    pid = int(p.stdout)
    got = points(dump(tk_dir), "PY_")
    assert [(q["label"], q["client"], q["command"], q["session"], q["context"]) for q in got] == [
        ("PY_ENTRY", NONE, NONE, NONE, ""),
        ("PY_IDS", 1, 42, 7, ""),
        ("PY_KW", 0, 2**64 - 2, NONE, ""),
        ("PY_CTX", 3, NONE, 9, "op=PUT,key=user:123,n=5"),
    ]
    assert {q["pid"] for q in got} == {pid}
    stamps = [q["mono_ns"] for q in got]
    assert stamps == sorted(stamps), stamps


def test_context_keeps_the_order_given_and_renders_values_with_str(tk_dir):
    run_python("""
        import timekeeper as tk
        class Obj:
            def __str__(self): return "obj!"
        tk.point("PY_VALUES", z=1, a=-5, t=True, f=False, n=None, x=2.5, big=2**70, o=Obj())
        tk.point("PY_ORDER", b=1, a=2)
        tk.point("PY_ORDER", a=2, b=1)
        tk.point("PY_UTF8", who="żółw")
    """, tk_dir)
    got = points(dump(tk_dir), "PY_")
    assert [context_text(q) for q in got] == [
        "z=1,a=-5,t=True,f=False,n=None,x=2.5,big=1180591620717411303424,o=obj!",
        "b=1,a=2",
        "a=2,b=1",
        "who=żółw",
    ]


def test_ring_keeps_72_context_bytes_and_the_timing_line_keeps_the_whole_context(tk_dir):
    out = tk_dir / "timing.log"
    run_python("""
        import timekeeper as tk
        tk.point("PY_LONG", 1, 2, 3, data="x" * 200)
    """, tk_dir, env={"TK_TIMING": "1", "TK_TIMING_FILE": out})
    (q,) = points(dump(tk_dir), "PY_LONG")
    assert q["context"] == ("data=" + "x" * 200)[:72]
    (line,) = out.read_text().splitlines()
    assert line.endswith(",1,2,3,data=" + "x" * 200), line


def test_ids_given_as_keywords_from_a_dict_bind_like_literal_keywords(tk_dir):
    run_python("""
        import timekeeper as tk
        kw = {"".join(["cli", "ent"]): 5, "command": 6, "".join(["sess", "ion"]): 7, "k": 1}
        tk.point("PY_DICT", **kw)
        tk.point(label="PY_LABEL_KW", session=8)
        tk.label("PY_OBJ").point(**kw)
    """, tk_dir)
    got = points(dump(tk_dir), "PY_")
    assert [(q["label"], q["client"], q["command"], q["session"], q["context"]) for q in got] == [
        ("PY_DICT", 5, 6, 7, "k=1"),
        ("PY_LABEL_KW", NONE, NONE, 8, ""),
        ("PY_OBJ", 5, 6, 7, "k=1"),
    ]


def test_ids_accept_int_like_objects_with_index(tk_dir):
    run_python("""
        import timekeeper as tk
        class Id:
            def __index__(self): return 77
        class Sub(int): pass
        tk.point("PY_INDEX", Id(), Sub(78), 2**40)
    """, tk_dir)
    (q,) = points(dump(tk_dir), "PY_INDEX")
    assert (q["client"], q["command"], q["session"]) == (77, 78, 2**40)


def test_ids_read_inline_and_through_the_general_path_record_the_same_values(tk_dir):
    # point() reads None and ints below 2**60 inline (its fast path) and takes every other id, a
    # keyword or a label it has not seen to the general path: the boundaries record exactly
    edges = [0, 1, 2**30 - 1, 2**30, 2**60 - 1, 2**60, 2**63, 2**64 - 2]
    run_python(f"""
        import timekeeper as tk
        edges = {edges!r}
        for v in edges:
            tk.point("PY_EDGE", v, None, v)
            tk.label("PY_EDGE_L").point(None, v)
        class Sub(int): pass
        tk.point("PY_EDGE", Sub(5), 6, None)                 # an int subclass: general path
        tk.point("PY_EDGE", 7, 8, session=9)                 # a keyword: general path
        tk.point("PY_EDGE_NEW_" + "LABEL", 10, 11, 12)       # a label seen the first time
        for bad in (-1, True, 2**64 - 1, 2**64):             # refused, whichever path saw them
            try:
                tk.point("PY_EDGE", 1, 2, bad)
            except (TypeError, ValueError):
                pass
            else:
                raise SystemExit(f"{{bad!r}} was accepted")
    """, tk_dir)
    got = [(q["label"], q["client"], q["command"], q["session"])
           for q in points(dump(tk_dir), "PY_EDGE")]
    want = []
    for v in edges:
        want += [("PY_EDGE", v, NONE, v), ("PY_EDGE_L", NONE, v, NONE)]
    want += [("PY_EDGE", 5, 6, NONE), ("PY_EDGE", 7, 8, 9), ("PY_EDGE_NEW_LABEL", 10, 11, 12)]
    assert got == want


def test_a_point_without_context_never_shows_an_earlier_lap_s_context(tk_dir):
    # the fast path writes no context; slots that held one a lap before must read back empty
    run_python("""
        import timekeeper as tk
        for i in range(3000):                 # a 1024-record ring laps: points take 2..4 records
            tk.point("PY_LAP", i, 0, 0, data="x" * 60) if i % 2 else tk.point("PY_LAP", i, 0, 0)
    """, tk_dir, env={"TK_RING_SIZE": "1024"})
    got = points(dump(tk_dir), "PY_LAP")
    assert got, "nothing survived in the ring"
    for q in got:
        assert q["context"] == ("data=" + "x" * 60 if q["client"] % 2 else ""), q


def test_label_object_points_like_point_and_shares_the_label_id(tk_dir):
    p = run_python("""
        import timekeeper as tk
        L = tk.label("PY_SHARED")
        L.point()
        L.point(1, 2, 3, efd=4)
        tk.point("PY_SHARED", 5)
        L2 = tk.Label("PY_SHARED")
        print(L.id, L2.id, L.name, repr(L))
    """, tk_dir)
    a, b, name, rep = p.stdout.split(maxsplit=3)
    assert a == b and int(a) > 0
    assert name == "PY_SHARED" and rep.strip() == f"<timekeeper.Label 'PY_SHARED' id={a}>"
    got = points(dump(tk_dir), "PY_SHARED")
    assert [(q["client"], q["command"], q["session"], q["context"]) for q in got] == [
        (NONE, NONE, NONE, ""), (1, 2, 3, "efd=4"), (5, NONE, NONE, "")]


def test_dynamic_label_strings_map_to_the_same_id_as_literals(tk_dir):
    # labels built at run time are different str objects: the identity cache misses, the dict hits
    run_python("""
        import timekeeper as tk
        for i in range(3000):
            tk.point("PY_" + str(i % 300), command=i)
        for i in range(300):
            tk.point(f"PY_{i}", command=100000 + i)
    """, tk_dir)
    got = points(dump(tk_dir), "PY_")
    assert len(got) == 3300
    for q in got:
        c = q["command"]
        expect = f"PY_{c % 300}" if c < 100000 else f"PY_{c - 100000}"
        assert q["label"] == expect, q


def test_str_subclasses_name_labels_and_timers_by_their_text(tk_dir):
    run_python("""
        import timekeeper as tk
        class Liar(str):
            def __eq__(self, other): return True
            def __hash__(self): return hash("PY_OTHER")
        tk.point("PY_OTHER", 1)
        tk.point(Liar("PY_MINE"), 2)
        tk.label(Liar("PY_MINE")).point(3)
        with tk.timer(Liar("py mine")):
            pass
    """, tk_dir)
    got = points(dump(tk_dir), "PY_")
    assert [(q["label"], q["client"]) for q in got] == [("PY_OTHER", 1), ("PY_MINE", 2),
                                                        ("PY_MINE", 3)]


def test_each_python_thread_records_into_its_own_ring(tk_dir):
    p = run_python("""
        import threading, timekeeper as tk
        def work(k):
            for i in range(2000):
                tk.point("PY_THREAD", k, i)
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
    """, tk_dir)
    got = points(dump(tk_dir), "PY_THREAD")
    by_client = {}
    for q in got:
        by_client.setdefault(q["client"], []).append(q)
    assert sorted(by_client) == [0, 1, 2, 3]
    for k, qs in by_client.items():
        assert [q["command"] for q in qs] == list(range(2000)), f"thread {k} lost or reordered"
        assert len({q["tid"] for q in qs}) == 1
    assert len({qs[0]["tid"] for qs in by_client.values()}) == 4


def test_points_before_and_after_fork_go_to_each_process_segment(tk_dir):
    p = run_python("""
        import os, timekeeper as tk
        tk.point("PY_PARENT", 1)
        pid = os.fork()
        if pid == 0:
            tk.point("PY_CHILD", 2)
            os._exit(0)
        os.waitpid(pid, 0)
        tk.point("PY_PARENT", 3)
        print(os.getpid(), pid)
    """, tk_dir)
    parent, child = map(int, p.stdout.split())
    got = points(dump(tk_dir), "PY_")
    assert sorted((q["label"], q["client"], q["pid"]) for q in got) == [
        ("PY_CHILD", 2, child), ("PY_PARENT", 1, parent), ("PY_PARENT", 3, parent)]


def test_now_ns_and_point_stamps_are_on_clock_monotonic(tk_dir):
    p = run_python("""
        import time, timekeeper as tk
        a = time.monotonic_ns()
        tk.point("PY_CLOCK")
        n = tk.now_ns()
        t = tk.ticks_to_ns(tk.now())
        b = time.monotonic_ns()
        t1, t2 = tk.now(), tk.now()
        print(a, n, t, b, int(t2 >= t1))
    """, tk_dir)
    a, n, t, b, mono = map(int, p.stdout.split())
    slack = 200_000  # the library's early rate estimate: well under this over a short run
    assert a - slack <= n <= b + slack and a - slack <= t <= b + slack, (a, n, t, b)
    assert mono == 1
    (q,) = points(dump(tk_dir), "PY_CLOCK")
    assert a - slack <= q["mono_ns"] <= b + slack, (a, q["mono_ns"], b)


TIMING_RE = re.compile(r"^TIMING,([^,]+),(\d+),(\d+|-),(\d+|-),(\d+|-),(.*)$")


def test_timing_lines_have_the_documented_format(tk_dir):
    out = tk_dir / "timing.log"
    p = run_python("""
        import time, timekeeper as tk
        a = time.monotonic_ns()
        tk.point("PY_SEND_AND_AWAIT_ENTRY", 0, None, 1, op="PUT", key="user:123")
        tk.point("PY_AFTER_ASYNC_SEND", 0, 42, 1, ffi_duration_ns=400)
        tk.point("PY_BEFORE_FIRST_GET_RESPONSE", 0, 42, 1)
        tk.label("PY_AFTER_FIRST_GET_RESPONSE").point(0, 42, 1, success=False)
        print(a, time.monotonic_ns(), int(tk.timing_enabled()))
    """, tk_dir, env={"TK_TIMING": "1", "TK_TIMING_FILE": out})
    a, b, on = map(int, p.stdout.split())
    assert on == 1
    lines = out.read_text().splitlines()
    parsed = [TIMING_RE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m[1], m[3], m[4], m[5], m[6]) for m in parsed] == [
        ("PY_SEND_AND_AWAIT_ENTRY", "0", "-", "1", "op=PUT,key=user:123"),
        ("PY_AFTER_ASYNC_SEND", "0", "42", "1", "ffi_duration_ns=400"),
        ("PY_BEFORE_FIRST_GET_RESPONSE", "0", "42", "1", ""),
        ("PY_AFTER_FIRST_GET_RESPONSE", "0", "42", "1", "success=False"),
    ]
    stamps = [int(m[2]) for m in parsed]
    assert stamps == sorted(stamps)
    assert a - 200_000 <= stamps[0] and stamps[-1] <= b + 200_000, (a, stamps, b)
    # the same points reached the rings too
    assert len(points(dump(tk_dir), "PY_")) == 4


def test_timing_lines_go_to_stderr_without_a_file_and_not_at_all_by_default(tk_dir):
    code = """
        import timekeeper as tk
        tk.point("PY_TEXT", 1, 2, 3, k="v")
        print(int(tk.timing_enabled()))
    """
    on = run_python(code, tk_dir, env={"TK_TIMING": "1"})
    assert on.stdout.strip() == "1"
    (line,) = [l for l in on.stderr.splitlines() if l.startswith("TIMING,")]
    m = TIMING_RE.match(line)
    assert m and m[1] == "PY_TEXT" and line.endswith(",1,2,3,k=v"), on.stderr
    off = run_python(code, tk_dir)
    assert off.stdout.strip() == "0" and "TIMING" not in off.stderr


def test_timing_lines_of_many_threads_never_interleave(tk_dir):
    out = tk_dir / "timing.log"
    run_python("""
        import threading, timekeeper as tk
        def work(k):
            for i in range(500):
                tk.point("PY_MT", k, i, None, pad="y" * (k * 40))
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
    """, tk_dir, env={"TK_TIMING": "1", "TK_TIMING_FILE": out})
    lines = out.read_text().splitlines()
    assert len(lines) == 2000
    for line in lines:
        m = TIMING_RE.match(line)
        assert m, line
        assert m[6] == "pad=" + "y" * (int(m[3]) * 40), line


def test_disabled_recording_makes_points_silent_no_ops(tk_dir):
    p = run_python("""
        import timekeeper as tk
        tk.point("PY_OFF", 1, 2, 3, k=1)
        with tk.timer("off"):
            pass
        print(int(tk.enabled()), repr(tk.segment_path()))
    """, tk_dir, env={"TK_DISABLE": "1"})
    assert p.stdout.split() == ["0", "''"]
    assert p.stderr == ""
    assert os.listdir(tk_dir) == []


def test_timing_lines_are_written_even_when_recording_is_disabled(tk_dir):
    p = run_python("""
        import timekeeper as tk
        tk.point("PY_TEXT_ONLY", 1, 2, 3, k=1)
    """, tk_dir, env={"TK_DISABLE": "1", "TK_TIMING": "1"})
    lines = [l for l in p.stderr.splitlines() if l.startswith("TIMING,")]
    assert len(lines) == 1, p.stderr
    f = lines[0].split(",")
    assert f[1] == "PY_TEXT_ONLY" and f[3:6] == ["1", "2", "3"] and f[6] == "k=1", lines[0]
    assert os.listdir(tk_dir) == []


def test_init_sets_the_directory_before_first_use(tk_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    p = run_python(f"""
        import timekeeper as tk
        tk.init(dir={str(other)!r}, ring_size=1024)
        tk.point("PY_INIT", 1)
        print(tk.segment_path())
    """, tk_dir)
    assert p.stdout.strip().startswith(str(other) + "/")
    assert len(points(dump(other), "PY_INIT")) == 1
    assert os.listdir(tk_dir) == []
