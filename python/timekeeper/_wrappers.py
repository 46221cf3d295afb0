"""Python-level wrappers the C extension builds on (kept out of the hot path)."""
import functools

from ._timekeeper import now


def wrap_coroutine(timer, func):
    """``@timer(name)`` on an ``async def``: times the whole coroutine, awaits included, from its
    first step to its return or exception (which propagates)."""

    @functools.wraps(func)
    async def timed(*args, **kwargs):
        start = now()
        try:
            return await func(*args, **kwargs)
        finally:
            timer.stop(start)

    return timed
