"""timekeeper — always-on, production-safe timing for C programs and the Python that drives them.

Points and timers recorded here go into the same per-thread shared-memory rings as the C API's, so
one ``timekeeper`` collector sees Python and C side by side; with ``TK_TIMING=1`` points are also
written as ``TIMING,<label>,<timestamp_ns>,<client>,<command>,<session>,<context>`` lines to stderr
(or ``TK_TIMING_FILE``).

    import timekeeper as tk

    tk.point("PY_BEFORE_SELECT", client=0, command=42, session=1, efd=fd)
    with tk.timer("parse"):
        parse(msg)

    @tk.timer("handle")
    def handle(req): ...

    BEFORE = tk.label("PY_BEFORE_ASYNC_SEND")   # a Label: .point() skips the name lookup
    BEFORE.point(client, None, session)

The library is configured by the environment (TK_DIR, TK_DISABLE, TK_TIMING, ...; see
docs/python.md) at the first point, timer or clock use, or explicitly by ``init()`` before that.
``python3 -m timekeeper.calibrate`` measures what each call costs.
"""
import os as _os


def _wrong_interpreter(err):
    """The ImportError for an extension built for another interpreter than this one."""
    import sys
    try:
        from ._build_info import EXECUTABLE, SOABI, VERSION
    except ImportError:
        EXECUTABLE = SOABI = VERSION = "?"
    here = _os.path.dirname(__file__)
    built = sorted(f for f in _os.listdir(here) if f.startswith("_timekeeper."))
    return ImportError(
        f"timekeeper's C extension was built for Python {VERSION} ({EXECUTABLE}, {SOABI}); this "
        f"is Python {sys.version.split()[0]} ({sys.executable}). Run it with {EXECUTABLE}, or "
        f"rebuild for this interpreter: cmake -S <source> -B build "
        f"-DPython3_EXECUTABLE={sys.executable} && cmake --build build "
        f"(found in {here}: {', '.join(built) or 'no extension at all'})",
        name=__name__, path=here)


try:
    from ._timekeeper import noop as _probe  # noqa: F401
except ModuleNotFoundError as _e:
    if _e.name != __name__ + "._timekeeper":
        raise
    raise _wrong_interpreter(_e) from None

from ._timekeeper import (
    CONTEXT_MAX,
    CONTEXT_TEXT_MAX,
    NAME_MAX,
    Label,
    TimedFunction,
    Timer,
    clock_source,
    enabled,
    init,
    label,
    noop,
    noop_point,
    now,
    now_ns,
    point,
    segment_path,
    thread_exit,
    thread_name,
    ticks_per_second,
    ticks_to_ns,
    timer,
    timing_enabled,
    version,
)

__version__ = version()

__all__ = [
    "CONTEXT_MAX", "CONTEXT_TEXT_MAX", "NAME_MAX", "Label", "TimedFunction", "Timer",
    "clock_source", "enabled", "get_include", "init", "label", "noop", "noop_point", "now", "now_ns", "point",
    "segment_path", "thread_exit", "thread_name", "ticks_per_second", "ticks_to_ns", "timer",
    "timing_enabled", "version",
]


def get_include():
    """The directory of timekeeper.h and timekeeper_capi.h, for C extensions that record into the
    same segment as this module (see timekeeper_capi.h)."""
    return _os.path.join(_os.path.dirname(__file__), "include")
