"""Counters, gauges and stage switches from Python, into the same segment as the C API's.

    import timekeeper as tk

    PACKETS = tk.counter("packets")     # cache it: registration takes a lock
    PACKETS.add()                        # or .add(n)
    QUEUE = tk.gauge("queue_depth")
    QUEUE.set(len(queue))
    if tk.stage("dissect"):              # False when TK_DISABLE_STAGES lists it
        dissect(pkt)
"""
from functools import partial as _partial

from . import _timekeeper as _c

__all__ = ["Counter", "Gauge", "counter", "gauge", "stage"]

stage = _c.stage


class Counter:
    """A counter: the collector shows what was added per interval. Thread-safe; each thread adds
    into its own slot, so the totals are exact."""

    __slots__ = ("name", "_h", "add")

    def __init__(self, name):
        self.name = name
        self._h = _c._counter_register(name)
        # add(n=1): the C function with the handle bound (no Python frame per call)
        self.add = _partial(_c._counter_add, self._h)

    @property
    def thread_value(self):
        """What the calling thread added so far."""
        return _c._counter_thread_value(self._h)

    def __repr__(self):
        return f"<timekeeper.Counter {self.name!r}>"


class Gauge:
    """A gauge: the collector shows its latest value (an int64)."""

    __slots__ = ("name", "_h", "set")

    def __init__(self, name):
        self.name = name
        self._h = _c._gauge_register(name)
        # set(value): the C function with the handle bound
        self.set = _partial(_c._gauge_set, self._h)

    @property
    def value(self):
        return _c._gauge_value(self._h)

    def __repr__(self):
        return f"<timekeeper.Gauge {self.name!r}>"


def counter(name):
    """The Counter `name` (registered at the first call)."""
    return Counter(name)


def gauge(name):
    """The Gauge `name`."""
    return Gauge(name)
