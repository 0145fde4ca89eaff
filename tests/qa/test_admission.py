"""Turns on the CPU for answers: a few at a time, the wait measured apart from the work."""

import threading
import time

import pytest

from qa import admission, services

HELD = 0.3


def hold(slots: admission.Slots, seconds: float = HELD) -> threading.Thread:
    taken = threading.Event()

    def work():
        with slots.taken():
            taken.set()
            time.sleep(seconds)

    thread = threading.Thread(target=work)
    thread.start()
    assert taken.wait(5)
    return thread


def test_an_answer_waits_while_every_slot_is_taken_and_says_how_long():
    slots = admission.Slots(1)
    holder = hold(slots)
    with slots.taken() as wait:
        pass
    holder.join()
    assert HELD * 0.5 < wait.seconds < HELD * 5


def test_a_free_slot_is_taken_at_once_so_two_slots_let_two_answers_in():
    slots = admission.Slots(2)
    holder = hold(slots)
    with slots.taken() as wait:
        assert wait.seconds < HELD * 0.5
    holder.join()


def test_no_slots_set_means_no_limit():
    slots = admission.Slots(0)
    with slots.taken() as first, slots.taken() as second:
        assert first.seconds == second.seconds == 0.0


def test_a_slot_is_given_back_when_the_work_fails():
    slots = admission.Slots(1)
    with pytest.raises(ValueError, match="failed"), slots.taken():
        raise ValueError("the work failed")
    with slots.taken() as wait:
        assert wait.seconds < HELD * 0.5


def test_an_answer_records_its_wait_for_a_turn_apart_from_its_retrieval(field_notes, settings):
    settings.ANSWER_CPU_SLOTS = 1
    holder = hold(admission.slots(1), seconds=1.0)
    answer = services.ask("Which bird has the longest migration?", [field_notes])
    holder.join()
    assert answer.status == "complete"
    assert answer.waited_ms > 500
    assert answer.retrieval_ms < answer.waited_ms
    assert answer.total_ms > answer.waited_ms + answer.retrieval_ms
