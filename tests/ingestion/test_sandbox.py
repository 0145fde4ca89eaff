"""The extractors' child process: a memory cap, a deadline, and a fresh child after either."""

import os
import time

import pytest

from ingestion import sandbox
from ingestion.extract import ExtractionError

MB = 1024**2


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * MB))


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "awake"


def die() -> None:
    os._exit(9)


def refuse() -> None:
    raise ExtractionError("This file is not for us.")


def child_pid() -> int:
    return os.getpid()


@pytest.fixture
def box():
    box = sandbox.Sandbox(memory_limit=512 * MB)
    yield box
    box.stop()


def test_a_call_returns_what_the_function_returns_from_another_process(box):
    assert box.call(allocate, 10, timeout=30) == 10 * MB
    assert box.call(child_pid, timeout=30) != os.getpid()


def test_a_call_that_needs_more_memory_than_the_cap_fails_in_words(box):
    with pytest.raises(ExtractionError, match="needed more than 512 MB of memory"):
        box.call(allocate, 1024, timeout=30)
    assert box.call(allocate, 10, timeout=30) == 10 * MB  # a new child takes over


def test_a_call_past_its_deadline_is_stopped_and_the_next_one_runs(box):
    started = time.monotonic()
    with pytest.raises(sandbox.TimedOut):
        box.call(sleep, 60, timeout=1)
    assert time.monotonic() - started < 10
    assert box.call(sleep, 0, timeout=30) == "awake"


def test_a_child_that_dies_is_reported_as_a_crash_and_replaced(box):
    first = box.call(child_pid, timeout=30)
    with pytest.raises(ExtractionError, match="crashed"):
        box.call(die, timeout=30)
    assert box.call(child_pid, timeout=30) != first


def test_an_extraction_error_comes_back_as_itself(box):
    pid = box.call(child_pid, timeout=30)
    with pytest.raises(ExtractionError, match="not for us"):
        box.call(refuse, timeout=30)
    assert box.call(child_pid, timeout=30) == pid  # nothing wrong with the child: it stays


def test_no_time_left_means_no_call(box):
    with pytest.raises(sandbox.TimedOut):
        box.call(sleep, 0, timeout=0)


def test_a_long_call_lets_its_caller_report_progress_meanwhile(box):
    beats = []
    assert box.call(sleep, 2, timeout=30, on_wait=lambda: beats.append(1), wait_slice=0.3) == "awake"
    assert len(beats) >= 4


class Gone(Exception):
    pass


def test_what_the_progress_report_raises_ends_the_call_and_the_child(box):
    first = box.call(child_pid, timeout=30)

    def taken_over():
        raise Gone

    with pytest.raises(Gone):
        box.call(sleep, 60, timeout=120, on_wait=taken_over, wait_slice=0.2)
    assert box.call(child_pid, timeout=30) != first  # the busy child did not stay


def test_a_child_that_held_half_its_cap_is_not_used_again(box):
    first = box.call(child_pid, timeout=30)
    assert box.call(allocate, 300, timeout=30) == 300 * MB  # fine, but past half of 512 MB
    assert box.call(child_pid, timeout=30) != first


def test_an_ordinary_error_after_a_large_call_is_not_blamed_on_memory(box):
    box.call(allocate, 300, timeout=30)
    with pytest.raises(ExtractionError, match="not for us"):
        box.call(refuse, timeout=30)


def test_a_word_member_that_understates_its_size_is_found_damaged_without_unpacking_it(tmp_path):
    # zipfile's read() of a whole member inflates all of it before cutting it to the declared size.
    from ingestion import extract, filetypes
    from testkit.documents import make_docx_bomb

    liar = make_docx_bomb(tmp_path / "liar.docx", unpacked_bytes=400 * MB, understate=True)
    small = sandbox.Sandbox(memory_limit=256 * MB)
    try:
        with pytest.raises(ExtractionError, match="damaged"):
            small.call(extract.read_metadata, liar, filetypes.DOCX, timeout=60)
    finally:
        small.stop()
