"""Lowering the CPU priority of background work, so that answering a question goes first.

On Linux a nice value belongs to a thread and is inherited by the threads it starts; raising it
needs no privilege, but lowering it again does, so only threads that do nothing else are lowered.
Elsewhere (macOS, Windows) nothing changes.

Only whole processes are lowered (the Celery workers' pool processes). A lowered thread inside the
web would hold the GIL while the scheduler leaves it waiting, and stall every thread of its process:
tried for the web's sentence embedding, it halved the throughput of bench/load.py.
"""

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)


def lower_this_thread(niceness: int) -> None:
    """Raises the calling thread's nice value by `niceness` (0 or less: leaves it)."""
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError as exc:
        log.warning("could not lower the CPU priority of this thread: %s", exc)
