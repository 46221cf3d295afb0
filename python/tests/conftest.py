"""Helpers of the binding's tests.

The library reads its environment (TK_DIR, TK_TIMING...) once per process, so a test that checks
what reaches the rings runs its Python code in a child process with its own TK_DIR (a tmp_path) and
then reads that directory with tests/tools/tk_points_dump (the collector, printing JSON lines).
Tests that only check errors run in this process, whose TK_DIR is a private temporary directory.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

# This process's own records go to a directory of its own (set before timekeeper is imported).
_SESSION_DIR = tempfile.mkdtemp(prefix="tk-pytest-")
os.environ["TK_DIR"] = _SESSION_DIR
for _k in ("TK_TIMING", "TK_TIMING_FILE", "TK_DISABLE", "TK_RING_SIZE", "TK_MAX_THREADS",
           "TK_CLOCK"):
    os.environ.pop(_k, None)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def _build_dir():
    """The build tree this run tests: from PYTHONPATH (<build>/python)."""
    import timekeeper
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(timekeeper.__file__))))


def tool(env_name, default_rel):
    """Path of a built program: $env_name, else <build>/<default_rel>; skips when missing."""
    path = os.environ.get(env_name) or os.path.join(_build_dir(), default_rel)
    if not os.path.exists(path):
        pytest.skip(f"{path} not built (set {env_name})")
    return path


def run_python(code, tk_dir, env=None, check=True, timeout=120, args=()):
    """Runs `code` in a child /usr/bin/python3 with TK_DIR=tk_dir (plus `env`). Returns the
    CompletedProcess (text). With check, a non-zero exit fails the test with its output."""
    e = dict(os.environ)
    e["TK_DIR"] = str(tk_dir)
    e.update({k: str(v) for k, v in (env or {}).items()})
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=e,
                       capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        pytest.fail(f"child exited with {p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n"
                    f"{p.stderr}")
    return p


def dump(tk_dir):
    """Everything the collector reads from tk_dir: a list of dicts (see tk_points_dump.c)."""
    exe = tool("TK_POINTS_DUMP", os.path.join("bin", "tk_points_dump"))
    p = subprocess.run([exe, "--dir", str(tk_dir)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"tk_points_dump failed ({p.returncode}): {p.stderr}"
    return [json.loads(line) for line in p.stdout.splitlines() if line]


def points(records, label_prefix=""):
    return [r for r in records if r["type"] == "point" and r["label"].startswith(label_prefix)]


def timers(records):
    return {r["name"]: r for r in records if r["type"] == "timer"}


def context_text(point):
    """A point's context as text (tk_points_dump escapes each byte >= 0x80 as one latin-1 char)."""
    return point["context"].encode("latin-1").decode("utf-8", errors="replace")


@pytest.fixture
def tk_dir(tmp_path):
    d = tmp_path / "tk"
    d.mkdir()
    return d


def report(tk_dir):
    """`timekeeper report --once --json --dir tk_dir`: {(timer, kind): totals record}."""
    exe = tool("TK_BIN", "bin")
    exe = os.path.join(exe, "timekeeper") if os.path.isdir(exe) else exe
    if not os.path.exists(exe):
        pytest.skip(f"{exe} not built")
    p = subprocess.run([exe, "report", "--once", "--json", "--dir", str(tk_dir)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"timekeeper report failed ({p.returncode}): {p.stderr}"
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r.get("window") == "total":
            out[(r["timer"], r["kind"])] = r
    return out
