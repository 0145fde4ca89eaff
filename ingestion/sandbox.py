"""A child process that runs the extractors under a memory cap and a deadline.

Parsing is where a hostile file does its damage: a zip or Flate bomb that unpacks to gigabytes, a page
that takes pypdf an hour. In a child process of its own, with RLIMIT_AS set, such a file costs a
MemoryError (or the child), not the worker; and a call past its deadline is ended by killing the child,
which the next call starts again. The child is a new Python (`python -m ingestion.sandbox`), not a fork:
the worker's process holds torch's threads, and a fork of it can hang (shared FACTS.md); nor a
multiprocessing child, which Celery's pool processes may not have.
"""

import ctypes
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .extract import ExtractionError, format_size

log = logging.getLogger(__name__)

TOO_MUCH_MEMORY = (
    "Reading this file needed more than {size} of memory, so it was stopped. It may be a compressed bomb, "
    "or simply too large: split it, or save it in a simpler form, and upload it again."
)
CRASHED = "The program that reads this kind of file crashed on it; the file may be damaged."
PR_SET_PDEATHSIG = 1
# How often a long call lets its caller report progress (the pipeline's heartbeat; INGEST_STALE_AFTER is 300 s).
WAIT_SLICE_SECONDS = 30.0
ROOT = Path(__file__).resolve().parent.parent


class TimedOut(Exception):
    """The call did not finish before its deadline; the child was killed."""


def serve(connection: Connection, memory_limit: int) -> None:
    """The child's loop: calls what it is sent and sends back (outcome, value, retire): ("ok", result),
    ("error", our ExtractionError), ("memory", None) or ("crash", what was raised, as text); retire when
    this child should not be used again."""
    if sys.platform == "linux":
        # Dies with the worker that started it, even one killed outright.
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ValueError, OSError):
        # macOS refuses RLIMIT_AS: a laptop's run goes on without the cap (the deadline still holds).
        log.warning("could not cap the extractor's memory on this system")
    while True:
        try:
            function, args, kwargs = connection.recv()
        except (EOFError, OSError):
            return
        outcome, value = call_one(function, args, kwargs, memory_limit)
        # A child that once held half its cap is not used again: its peak would blame the next call for a
        # failed allocation, and the memory may not go back to the system.
        retire = peak_memory() > memory_limit / 2
        try:
            connection.send((outcome, value, retire))
        except MemoryError:
            connection.send(("memory", None, True))


def call_one(function: Callable, args: tuple, kwargs: dict, memory_limit: int) -> tuple[str, Any]:
    try:
        return "ok", function(*args, **kwargs)
    except MemoryError:
        return "memory", None
    except ExtractionError as exc:
        return "error", exc
    except Exception as exc:
        # C libraries report a failed allocation in their own words (lxml: "XMLSyntaxError: unknown
        # error"): near the cap (in a child that began below half of it), that is what it was.
        if peak_memory() > memory_limit * 0.9:
            return "memory", None
        return "crash", f"{type(exc).__name__}: {exc}"  # as text: an arbitrary exception may not pickle


def peak_memory() -> int:
    """The most address space this process has held (VmPeak), in bytes; 0 where /proc does not say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sandbox:
    """One child process, started on first use and again after it was killed or died."""

    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = memory_limit
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None

    def call(
        self,
        function: Callable,
        *args: Any,
        timeout: float,
        on_wait: Callable[[], None] | None = None,
        wait_slice: float = WAIT_SLICE_SECONDS,
        **kwargs: Any,
    ) -> Any:
        """function(*args, **kwargs) in the child; raises ExtractionError (in words) or TimedOut.

        While it waits, on_wait is called every wait_slice seconds (the pipeline's heartbeat); whatever it
        raises ends the call and the child."""
        if timeout <= 0:
            raise TimedOut
        try:
            self.send((function, args, kwargs))
            outcome, value, retire = self.receive(timeout, on_wait, wait_slice)
        except BaseException:
            # Timed out, crashed, or stopped by the caller: the child may still be busy with this call.
            self.stop()
            raise
        if retire or outcome in ("memory", "crash"):
            self.stop()
        if outcome == "ok":
            return value
        if outcome == "error":
            raise value
        if outcome == "memory":
            raise ExtractionError(TOO_MUCH_MEMORY.format(size=format_size(self.memory_limit)))
        log.warning("the extractor failed: %s", value)
        raise ExtractionError(CRASHED)

    def send(self, message: tuple) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.connection is not None
        try:
            self.connection.send(message)
        except OSError:
            # It died since the last call: once more, with a new one.
            self.stop()
            self.start()
            self.connection.send(message)

    def receive(self, timeout: float, on_wait: Callable[[], None] | None, wait_slice: float) -> tuple:
        assert self.connection is not None
        deadline = time.monotonic() + timeout
        while not self.connection.poll(max(0.0, min(wait_slice, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise TimedOut
            if on_wait is not None:
                on_wait()
        try:
            return self.connection.recv()
        except (EOFError, OSError) as exc:
            # Killed on the way (the kernel's OOM killer, a segfault in a C library).
            raise ExtractionError(CRASHED) from exc

    def start(self) -> None:
        parent_end, child_end = socket.socketpair()
        with child_end:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingestion.sandbox", str(child_end.fileno()), str(self.memory_limit)],
                pass_fds=[child_end.fileno()],
                cwd=ROOT,
                # Each thread's malloc arena reserves 64 MB of address space, which RLIMIT_AS counts: onnxruntime's
                # threads (OCR) would otherwise reach the cap with little memory in use.
                env={**os.environ, "MALLOC_ARENA_MAX": "2"},
                stdin=subprocess.DEVNULL,
            )
        self.connection = Connection(parent_end.detach())

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.connection is not None:
            self.connection.close()
        self.process = self.connection = None


_lock = threading.Lock()
_sandboxes: dict[str, Sandbox] = {}


def run(
    function: Callable,
    *args: Any,
    memory_limit: int,
    deadline: float,
    on_wait: Callable[[], None] | None = None,
    name: str = "parse",
    **kwargs: Any,
) -> Any:
    """Runs function in this process' sandbox of that name (one for parsing, one for OCR, which keeps its
    models loaded between pages) with that memory limit, until time.monotonic() reaches deadline, calling
    on_wait now and then meanwhile."""
    with _lock:
        sandbox = _sandboxes.get(name)
        if sandbox is not None and sandbox.memory_limit != memory_limit:
            sandbox.stop()
            sandbox = None
        if sandbox is None:
            sandbox = _sandboxes[name] = Sandbox(memory_limit)
        return sandbox.call(function, *args, timeout=deadline - time.monotonic(), on_wait=on_wait, **kwargs)


def stop(name: str) -> None:
    """Ends the sandbox of that name, if one runs, giving its memory back (the OCR child holds its models)."""
    with _lock:
        sandbox = _sandboxes.pop(name, None)
        if sandbox is not None:
            sandbox.stop()


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
