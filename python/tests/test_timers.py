"""Timers from Python: context manager, decorator (functions, methods, coroutines), explicit
start/stop/record; an exception inside still records and still propagates."""
import pytest

from conftest import report, run_python


def test_timer_context_manager_records_each_block(tk_dir):
    run_python("""
        import time, timekeeper as tk
        for _ in range(10):
            with tk.timer("py.block"):
                time.sleep(0.002)
        t = tk.timer("py.reused")
        for _ in range(3):
            with t:
                pass
    """, tk_dir)
    r = report(tk_dir)
    block = r[("py.block", "processing")]
    assert block["count"] == 10
    assert block["min_ns"] >= 2_000_000, block
    assert r[("py.reused", "processing")]["count"] == 3


def test_an_exception_in_a_timed_block_is_recorded_and_propagates(tk_dir):
    p = run_python("""
        import time, timekeeper as tk
        try:
            with tk.timer("py.raises") as t:
                time.sleep(0.001)
                raise KeyError("boom")
        except KeyError as e:
            print("caught", e)
        print(type(t).__name__)
    """, tk_dir)
    assert p.stdout.split() == ["caught", "'boom'", "Timer"]
    r = report(tk_dir)
    assert r[("py.raises", "processing")]["count"] == 1
    assert r[("py.raises", "processing")]["min_ns"] >= 1_000_000


def test_nested_entries_of_one_timer_pair_innermost_first(tk_dir):
    p = run_python("""
        import time, timekeeper as tk
        t = tk.timer("py.nested")
        with t:
            time.sleep(0.02)
            with t:
                pass
        try:
            t.__exit__(None, None, None)
        except RuntimeError as e:
            print("error:", e)
    """, tk_dir)
    assert "__exit__ without __enter__" in p.stdout
    n = report(tk_dir)[("py.nested", "processing")]
    assert n["count"] == 2
    assert n["min_ns"] < 1_000_000 and n["max_ns"] >= 20_000_000, n


def test_decorator_times_every_call_and_keeps_the_function_identity(tk_dir):
    p = run_python("""
        import inspect, time, timekeeper as tk

        @tk.timer("py.func")
        def add(a, b=2, *, c=0):
            "adds"
            time.sleep(0.001)
            return a + b + c

        class K:
            def __init__(self): self.v = 10
            @tk.timer("py.method")
            def m(self, x): return self.v + x
            @staticmethod
            @tk.timer("py.static")
            def s(x): return x * 2
            @classmethod
            @tk.timer("py.cls")
            def c(cls, x): return cls.__name__ + str(x)

        @tk.timer("py.fails")
        def fails():
            raise ValueError("no")

        @tk.timer("py.recursive")
        def fact(n): return 1 if n <= 1 else n * fact(n - 1)

        k = K()
        print(add(1), add(1, 3, c=4), add.__name__, add.__doc__, add.__wrapped__.__name__)
        print(str(inspect.signature(add)), k.m(5), K.m(k, 6), K.s(4), k.s(5), K.c(1), k.c(2))
        try:
            fails()
        except ValueError as e:
            print("caught", e)
        print(fact(10), type(add).__name__, add.timer_name)
    """, tk_dir)
    l1, l2, l3, l4 = p.stdout.splitlines()
    assert l1 == "3 8 add adds add"
    assert l2 == "(a, b=2, *, c=0) 15 16 8 10 K1 K2"
    assert l3 == "caught no"
    assert l4 == "3628800 TimedFunction py.func"
    r = report(tk_dir)
    counts = {name: r[(name, "processing")]["count"] for name, kind in r if kind == "processing"}
    assert counts == {"py.func": 2, "py.method": 2, "py.static": 2, "py.cls": 2, "py.fails": 1,
                      "py.recursive": 10}
    assert r[("py.func", "processing")]["min_ns"] >= 1_000_000


def test_decorated_coroutine_is_timed_until_it_returns(tk_dir):
    p = run_python("""
        import asyncio, inspect, timekeeper as tk

        @tk.timer("py.coro")
        async def fetch(x):
            await asyncio.sleep(0.01)
            return x + 1

        @tk.timer("py.coro_fails")
        async def broken():
            await asyncio.sleep(0)
            raise OSError("down")

        async def main():
            print(await fetch(1), inspect.iscoroutinefunction(fetch), fetch.__name__)
            try:
                await broken()
            except OSError as e:
                print("caught", e)
        asyncio.run(main())
    """, tk_dir)
    assert p.stdout.splitlines() == ["2 True fetch", "caught down"]
    r = report(tk_dir)
    assert r[("py.coro", "processing")]["count"] == 1
    assert r[("py.coro", "processing")]["min_ns"] >= 10_000_000
    assert r[("py.coro_fails", "processing")]["count"] == 1


def test_start_stop_and_record_with_an_origin_give_processing_and_latency(tk_dir):
    p = run_python("""
        import time, timekeeper as tk
        t = tk.timer("py.explicit")
        origin = tk.now()
        time.sleep(0.005)
        s = t.start()
        time.sleep(0.002)
        e = t.stop(s)
        t.record(s, e, origin)
        t.record(start=s, stop=e)
        print(int(e >= s), tk.ticks_to_ns(e) - tk.ticks_to_ns(s) >= 2_000_000)
    """, tk_dir)
    assert p.stdout.split() == ["1", "True"]
    r = report(tk_dir)
    assert r[("py.explicit", "processing")]["count"] == 3
    lat = r[("py.explicit", "latency")]
    assert lat["count"] == 1 and lat["min_ns"] >= 5_000_000, lat


def test_timer_names_may_hold_spaces(tk_dir):
    run_python("""
        import timekeeper as tk
        with tk.timer("py parse request"):
            pass
        print(repr(tk.timer("py parse request")), tk.Timer("py parse request").name)
    """, tk_dir)
    assert report(tk_dir)[("py parse request", "processing")]["count"] == 1


def test_a_timed_generator_records_its_iteration_not_its_creation(tk_dir):
    p = run_python("""
        import time, timekeeper as tk
        @tk.timer("py.gen")
        def produce(n):
            for i in range(n):
                time.sleep(0.01)
                yield i
            return "done"
        g = produce(3)
        time.sleep(0.05)          # created, not iterated: not part of the span
        t0 = time.monotonic_ns()
        items = list(g)
        print(time.monotonic_ns() - t0)
        print(items, produce.__name__)
        def outer():              # the return value goes through yield from
            r = yield from produce(1)
            print("returned", r)
        list(outer())
        g = produce(5)            # closed early: still recorded once
        next(g)
        g.close()
    """, tk_dir)
    lines = p.stdout.splitlines()
    iterating_ns = int(lines[0])
    assert lines[1:] == ["[0, 1, 2] produce", "returned done"], p.stdout
    g = report(tk_dir)[("py.gen", "processing")]
    assert g["count"] == 3, g
    assert 30_000_000 <= g["max_ns"] <= iterating_ns + 1_000_000, (g, iterating_ns)
    assert g["min_ns"] >= 10_000_000, g


def test_a_timed_async_generator_records_its_iteration(tk_dir):
    p = run_python("""
        import asyncio, time, timekeeper as tk
        @tk.timer("py.agen")
        async def produce(n):
            for i in range(n):
                await asyncio.sleep(0.01)
                yield i
        async def main():
            g = produce(3)
            await asyncio.sleep(0.05)
            t0 = time.monotonic_ns()
            items = [i async for i in g]
            print(time.monotonic_ns() - t0)
            print(items)
            g = produce(5)
            await g.__anext__()
            await g.aclose()
        asyncio.run(main())
    """, tk_dir)
    lines = p.stdout.splitlines()
    iterating_ns = int(lines[0])
    assert lines[1] == "[0, 1, 2]", p.stdout
    g = report(tk_dir)[("py.agen", "processing")]
    assert g["count"] == 2, g
    assert 30_000_000 <= g["max_ns"] <= iterating_ns + 1_000_000, (g, iterating_ns)
    assert g["min_ns"] >= 10_000_000, g


def test_async_with_pairs_spans_per_task(tk_dir):
    # A enters at 0 and leaves at 30 ms, B enters at 20 ms and leaves at 60 ms: a stack shared by
    # the tasks would pair A's exit with B's entry (10 ms). Every correct span is >= 30 ms.
    run_python("""
        import asyncio, timekeeper as tk
        t = tk.timer("py.awith")
        async def a():
            async with t as same:
                assert same is t
                await asyncio.sleep(0.03)
        async def b():
            await asyncio.sleep(0.02)
            async with t:
                await asyncio.sleep(0.04)
        async def main():
            await asyncio.gather(a(), b())
        asyncio.run(main())
    """, tk_dir)
    s = report(tk_dir)[("py.awith", "processing")]
    assert s["count"] == 2, s
    assert s["min_ns"] >= 29_000_000, s
    assert s["max_ns"] >= 40_000_000, s


def test_one_timer_shared_by_two_threads_pairs_each_threads_spans(tk_dir):
    # the same schedule with threads: A in, B in 20 ms later, A out 10 ms after that, B out 30 ms
    # after A: a shared stack would record ~10 ms and ~60 ms; correct spans are both >= 30 ms
    run_python("""
        import threading, time, timekeeper as tk
        t = tk.timer("py.shared")
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        def a():
            with t:
                a_in.set()
                b_in.wait()
                time.sleep(0.01)
            a_out.set()
        def b():
            a_in.wait()
            time.sleep(0.02)
            with t:
                b_in.set()
                a_out.wait()
                time.sleep(0.03)
        ta, tb = threading.Thread(target=a), threading.Thread(target=b)
        ta.start(); tb.start(); ta.join(); tb.join()
    """, tk_dir)
    s = report(tk_dir)[("py.shared", "processing")]
    assert s["count"] == 2, s
    assert s["min_ns"] >= 29_000_000, s
    assert s["max_ns"] >= 40_000_000, s
