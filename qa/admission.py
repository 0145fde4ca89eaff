"""How many answers of one web process may use the CPU at once.

Retrieving passages for a question is some 15 ms of CPU. With every thread of a busy process
runnable at once, those ms are spread over hundreds, each thread waiting its turn for the GIL
and the cores behind all the others. Letting a few answers in at a time, in order of arrival,
gets each one's work done in its own time while the rest wait without using anything; the
waiting is recorded apart (Answer.waited_ms). Streaming from the LLM server holds no turn.
"""

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Wait:
    seconds: float = 0.0


class Slots:
    def __init__(self, count: int) -> None:
        self.semaphore = threading.BoundedSemaphore(count) if count > 0 else None

    @contextmanager
    def taken(self) -> Iterator[Wait]:
        """Holds a slot for the duration of the block; the Wait says how long taking it took."""
        wait = Wait()
        if self.semaphore is None:
            yield wait
            return
        started = time.perf_counter()
        self.semaphore.acquire()
        wait.seconds = time.perf_counter() - started
        try:
            yield wait
        finally:
            self.semaphore.release()


@functools.cache
def slots(count: int) -> Slots:
    """The process' slots; count 0 means no limit."""
    return Slots(count)
