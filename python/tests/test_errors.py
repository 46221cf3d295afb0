"""Bad arguments raise TypeError or ValueError with a message that says what is wrong; nothing
crashes the interpreter."""
import os
import random
import shutil
import subprocess
import sys

import pytest

import timekeeper as tk
from conftest import run_python


class Weird:
    def __str__(self):
        raise RuntimeError("no str for you")


class BadIndex:
    def __index__(self):
        raise ZeroDivisionError("bad index")


@pytest.mark.parametrize("args, kwargs, exc, message", [
    ((), {}, TypeError, "missing required argument 'label'"),
    ((None,), {}, TypeError, "label must be a str, not 'NoneType'"),
    ((123,), {}, TypeError, "label must be a str, not 'int'"),
    ((b"PY",), {}, TypeError, "label must be a str, not 'bytes'"),
    (("",), {}, ValueError, "is empty"),
    (("A B",), {}, ValueError, "has a space"),
    (("A,B",), {}, ValueError, "has a ','"),
    (("A\nB",), {}, ValueError, "not printable ASCII"),
    (("A\0B",), {}, ValueError, "not printable ASCII"),
    (("ÉTIQUETTE",), {}, ValueError, "not printable ASCII"),
    (("X" * 56,), {}, ValueError, "is too long"),
    (("\ud800",), {}, UnicodeEncodeError, "surrogate"),
    (("OK", -1), {}, ValueError, "client id must be an int in [0, 2**64-2] or None, got -1"),
    (("OK", 0, 2**64 - 1), {}, ValueError, "command id must be an int in [0, 2**64-2]"),
    (("OK", 0, 0, 2**64), {}, ValueError, "session id must be an int in [0, 2**64-2]"),
    (("OK", 2**200), {}, ValueError, "client id must be"),
    (("OK", -(2**200)), {}, ValueError, "client id must be"),
    (("OK", 1.0), {}, TypeError, "client id must be an int or None, not 'float'"),
    (("OK", "1"), {}, TypeError, "client id must be an int or None, not 'str'"),
    (("OK", True), {}, TypeError, "client id must be an int or None, not 'bool'"),
    (("OK", BadIndex()), {}, ZeroDivisionError, "bad index"),
    (("OK",), {"session": []}, TypeError, "session id must be an int or None, not 'list'"),
    (("OK", 1, 2, 3, 4), {}, TypeError, "at most 4 positional arguments (5 given)"),
    (("OK", 1), {"client": 2}, TypeError, "multiple values for argument 'client'"),
    (("OK",), {"label": "OK"}, TypeError, "multiple values for argument 'label'"),
    (("OK",), {"k": Weird()}, RuntimeError, "no str for you"),
    (("OK",), {"k": "\udcff"}, UnicodeEncodeError, "surrogate"),
])
def test_point_rejects_bad_arguments_with_a_clear_message(args, kwargs, exc, message):
    with pytest.raises(exc) as info:
        tk.point(*args, **kwargs)
    assert message in str(info.value)


def test_label_point_rejects_bad_ids_and_extra_positionals():
    L = tk.label("PY_ERR")
    with pytest.raises(ValueError, match=r"command id must be"):
        L.point(1, -2)
    with pytest.raises(TypeError, match=r"at most 3 positional arguments \(4 given\)"):
        L.point(1, 2, 3, 4)
    with pytest.raises(TypeError, match="multiple values for argument 'session'"):
        L.point(1, 2, 3, session=3)
    L.point(label="a context key here")  # `label` is not a parameter of Label.point


@pytest.mark.parametrize("factory", [tk.label, tk.Label])
def test_label_rejects_bad_names(factory):
    with pytest.raises(TypeError, match="label name must be a str, not 'int'|label must be a str"):
        factory(3)
    with pytest.raises(ValueError, match="has a space"):
        factory("two words")


@pytest.mark.parametrize("factory", [tk.timer, tk.Timer])
def test_timer_rejects_bad_names(factory):
    with pytest.raises(TypeError, match="timer name must be a str, not 'NoneType'"):
        factory(None)
    with pytest.raises(ValueError, match="is empty"):
        factory("")
    with pytest.raises(ValueError, match="has a ','"):
        factory("a,b")
    with pytest.raises(ValueError, match="is too long"):
        factory("t" * 56)
    assert factory("t" * 55).name == "t" * 55


def test_timer_as_decorator_needs_one_callable():
    t = tk.timer("py.err")
    with pytest.raises(TypeError, match="can only decorate a callable, not 'int'"):
        t(5)
    with pytest.raises(TypeError, match="decorates one callable"):
        t(print, print)
    with pytest.raises(TypeError, match="decorates one callable"):
        t(func=print)


def test_timer_stop_and_record_check_their_ticks():
    t = tk.timer("py.err")
    with pytest.raises(TypeError, match="start must be an int"):
        t.stop("now")
    with pytest.raises(ValueError, match=r"start must be an int in \[0, 2\*\*64-1\]"):
        t.stop(-1)
    with pytest.raises(ValueError, match="stop must be an int"):
        t.record(0, 2**64)
    with pytest.raises(TypeError, match="origin must be an int"):
        t.record(0, 1, 1.5)
    with pytest.raises(TypeError):
        t.record(0)
    with pytest.raises(RuntimeError, match="__exit__ without __enter__"):
        t.__exit__(None, None, None)


def test_a_timer_entered_without_end_stops_at_a_bound():
    t = tk.timer("py.err")
    with pytest.raises(RuntimeError, match="entered 65536 times without an exit"):
        for _ in range(70000):
            t.__enter__()


def test_other_functions_check_their_arguments():
    with pytest.raises(TypeError, match="ticks must be an int"):
        tk.ticks_to_ns(None)
    with pytest.raises(ValueError, match="ticks must be an int in"):
        tk.ticks_to_ns(-5)
    with pytest.raises(TypeError, match="thread name must be a str"):
        tk.thread_name(1)
    with pytest.raises(ValueError, match="NUL"):
        tk.thread_name("a\0b")
    tk.thread_name("a-very-long-thread-name-is-cut")
    with pytest.raises(TypeError):
        tk.noop(1)
    with pytest.raises(TypeError):
        tk.now(1)
    with pytest.raises(ValueError, match="clock must be"):
        tk.init(clock="sundial")
    with pytest.raises(ValueError, match="fit in 32 bits"):
        tk.init(ring_size=2**40)


def test_init_after_first_use_says_so():
    tk.point("PY_USED")
    with pytest.raises(RuntimeError, match="already initialised") as e:
        tk.init()
    assert "bad options" not in str(e.value)


def test_init_with_bad_options_on_a_fresh_process_says_bad_options(tk_dir):
    p = run_python("""
        import timekeeper as tk
        try:
            tk.init(ring_size=3)
        except ValueError as e:
            print("ValueError:", e)
    """, tk_dir)
    assert "ValueError: timekeeper.init(): bad options" in p.stdout, p.stdout
    assert "already" not in p.stdout


def test_init_with_a_missing_dir_raises_oserror_with_path_and_errno(tk_dir):
    p = run_python("""
        import errno, timekeeper as tk
        try:
            tk.init(dir="/nonexistent/tk-py-init")
        except OSError as e:
            print(type(e).__name__, errno.errorcode.get(e.errno), e.filename)
            print(e)
    """, tk_dir)
    first = p.stdout.splitlines()[0]
    assert first == "FileNotFoundError ENOENT /nonexistent/tk-py-init", p.stdout
    assert "/nonexistent/tk-py-init" in p.stdout.splitlines()[1]


def test_init_with_a_file_as_dir_raises_notadirectory(tk_dir):
    path = os.path.join(tk_dir, "a-file")
    open(path, "w").close()
    p = run_python(f"""
        import errno, timekeeper as tk
        try:
            tk.init(dir={path!r})
        except OSError as e:
            print(errno.errorcode.get(e.errno), e.filename)
    """, tk_dir)
    assert p.stdout.strip() == f"ENOTDIR {path}", p.stdout


def test_a_too_long_name_is_shown_cut_with_its_closing_quote():
    with pytest.raises(ValueError) as e:
        tk.timer("x" * 70)
    msg = str(e.value)
    assert "'" + "x" * 40 + "'... (70 characters) is too long" in msg, msg
    with pytest.raises(ValueError) as e:
        tk.point("Y" * 56)
    assert "'" + "Y" * 56 + "' is too long" in str(e.value)


def test_empty_tk_dir_is_refused_not_taken_as_dev_shm(tmp_path):
    env = dict(os.environ, TK_DIR="")
    p = subprocess.run([sys.executable, "-c",
                        "import timekeeper as tk; tk.point('PY_X'); print(tk.enabled(), repr(tk.segment_path()))"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False ''", p.stdout
    assert "TK_DIR is set but empty" in p.stderr


@pytest.mark.parametrize("value,enabled", [("yes", False), ("TRUE", False), ("on", False),
                                           ("1", False), ("no", True), ("Off", True),
                                           ("false", True), ("0", True)])
def test_tk_disable_accepts_the_usual_boolean_spellings(tk_dir, value, enabled):
    env = dict(os.environ, TK_DIR=str(tk_dir), TK_DISABLE=value)
    p = subprocess.run([sys.executable, "-c", "import timekeeper as tk; print(tk.enabled())"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == str(enabled), (value, p.stdout, p.stderr)
    assert p.stderr == ""


def test_random_arguments_never_crash_the_interpreter(tk_dir):
    """Thousands of random calls with random arguments: every failure is an exception."""
    p = run_python("""
        import random, sys, timekeeper as tk
        rng = random.Random(int(sys.argv[1]))
        class S:
            def __str__(self): raise KeyError("s")
        class I:
            def __index__(self): return -1
        pool = [None, 0, 1, -1, 2**63, 2**64 - 2, 2**64 - 1, 2**64, 2**100, -2**100, 1.5, "",
                "L", "L L", "L,L", "\\ud800", b"L", bytearray(b"x"), [], {}, (), object(),
                S(), I(), True, float("nan"), "X" * 60, "Y" * 5000, tk.point, tk]
        names = ["client", "command", "session", "label", "k", "efd", "x" * 300]
        funcs = [tk.point, tk.label("PY_FUZZ").point, tk.label, tk.timer, tk.ticks_to_ns,
                 tk.thread_name, tk.noop, tk.now, tk.now_ns, tk.Label, tk.Timer,
                 tk.timer("py.fuzz"), tk.timer("py.fuzz").stop, tk.timer("py.fuzz").record]
        counts = {}
        for _ in range(20000):
            f = rng.choice(funcs)
            args = [rng.choice(pool) for _ in range(rng.randrange(5))]
            kwargs = {rng.choice(names): rng.choice(pool) for _ in range(rng.randrange(3))}
            try:
                f(*args, **kwargs)
                k = "ok"
            except (TypeError, ValueError, KeyError, RuntimeError) as e:
                k = type(e).__name__
            counts[k] = counts.get(k, 0) + 1
        print(sorted(counts.items()))
    """, tk_dir, args=[str(random.randrange(1 << 30))])
    assert "ok" in p.stdout and "TypeError" in p.stdout and "ValueError" in p.stdout


def test_a_full_name_table_raises_runtime_error(tk_dir):
    p = run_python("""
        import timekeeper as tk
        n = 0
        try:
            for i in range(5000):
                tk.point(f"PY_L{i}")
                n += 1
        except RuntimeError as e:
            print(n, e)
        tk.point("PY_L7")  # registered before: still fine
    """, tk_dir)
    n, msg = p.stdout.split(" ", 1)
    assert 4000 < int(n) < 4096, p.stdout
    assert "name table is full" in msg


def test_import_on_another_interpreter_names_the_one_it_was_built_for(tmp_path):
    """A copy of the package whose extension carries another interpreter's tag: what an import
    from another Python sees."""
    src = os.path.dirname(tk.__file__)
    dst = tmp_path / "timekeeper"
    shutil.copytree(src, dst)
    for f in os.listdir(dst):
        if f.startswith("_timekeeper.") and f.endswith(".so"):
            os.rename(dst / f, dst / "_timekeeper.cpython-39-x86_64-linux-gnu.so")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    p = subprocess.run([sys.executable, "-c", "import timekeeper"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: timekeeper's C extension was built for Python 3."), p.stderr
    assert "-DPython3_EXECUTABLE=" in last and sys.executable in last, last
    assert "_timekeeper.cpython-39-x86_64-linux-gnu.so" in last, last
