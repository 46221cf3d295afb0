"""Python-level wrappers the C extension builds on (kept out of the hot path): the decorator for
coroutine, generator and async generator functions, and ``async with timer``."""
import asyncio
import functools
import threading

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


def wrap_generator(timer, func):
    """``@timer(name)`` on a generator function: times the iteration, from the first ``next()`` to
    exhaustion, an exception or ``close()`` (the consumer's time between items included). Values
    sent and exceptions thrown in are passed through."""

    @functools.wraps(func)
    def timed(*args, **kwargs):
        start = now()
        try:
            return (yield from func(*args, **kwargs))
        finally:
            timer.stop(start)

    return timed


def wrap_async_generator(timer, func):
    """``@timer(name)`` on an async generator function: times the iteration like wrap_generator,
    from the first ``__anext__()`` to exhaustion, an exception or ``aclose()``."""

    @functools.wraps(func)
    async def timed(*args, **kwargs):
        start = now()
        agen = func(*args, **kwargs)
        try:
            try:
                item = await agen.__anext__()
            except StopAsyncIteration:
                return
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as e:  # thrown in by athrow(): the inner generator decides
                    try:
                        item = await agen.athrow(e)
                    except StopAsyncIteration:
                        return
                else:
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        return
        finally:
            timer.stop(start)

    return timed


def _owner():
    """Who owns an ``async with`` entry: the running asyncio task, else the thread."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        task = None
    return id(task) if task is not None else threading.get_ident()


async def _aenter(timer):
    timer._push(_owner())
    return timer


async def _aexit(timer):
    timer._pop(_owner())
    return False  # an exception in the body propagates


def timer_aenter(timer, _unused):
    """``Timer.__aenter__``: an awaitable that opens an entry owned by the running task."""
    return _aenter(timer)


def timer_aexit(timer, _unused):
    """``Timer.__aexit__``: an awaitable that records the span of the task's innermost entry."""
    return _aexit(timer)
