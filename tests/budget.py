"""A CPU-time budget for one call, enforced by a signal: a runaway regular expression or parser is stopped
(the regex engine checks for signals as it backtracks) and reported instead of hanging the suite."""

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class OverBudget(Exception):
    pass


@dataclass
class Spent:
    seconds: float = 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_budget(seconds: float) -> Iterator[Spent]:
    """Raises OverBudget in the block once it has used `seconds` of this process' CPU time.

    ITIMER_VIRTUAL (user CPU time), not the wall clock: pytest-timeout owns SIGALRM, and a busy machine
    must not make a linear call look slow."""

    def stop(signum, frame):
        raise OverBudget(f"over {seconds} s of CPU time")

    spent = Spent()
    previous = signal.signal(signal.SIGVTALRM, stop)
    started = cpu_seconds()
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield spent
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
        spent.seconds = cpu_seconds() - started
