"""The LLM client over real HTTP against the fake TGI server: streaming, limits and every failure."""

import time

import pytest

from qa.llm import CUT_OFF, FAILED, OVERLOADED, TIMED_OUT, UNREACHABLE, LLMError, OpenAIBackend, TGIBackend
from testkit.fake_llm import FakeLLM, refused_url


def tgi(url: str, **overrides) -> TGIBackend:
    options = {"timeout": 1.0, "temperature": 0.1, "max_new_tokens": 64, "max_input_tokens": 1000} | overrides
    return TGIBackend(url, **options)


def openai(url: str) -> OpenAIBackend:
    return OpenAIBackend(url, timeout=1.0, temperature=0.1, max_new_tokens=64, max_input_tokens=1000, model="tgi")


def failure_of(backend, fake: FakeLLM | None = None, failure: str | None = None) -> LLMError:
    if fake is not None:
        fake.failure = failure
    with pytest.raises(LLMError) as caught:
        list(backend.stream("system", "user"))
    return caught.value


@pytest.fixture
def llm():
    with FakeLLM(answer="Revenue was 42 million dollars [1].") as fake:
        yield fake


@pytest.mark.parametrize("make", [tgi, openai], ids=["tgi", "openai"])
def test_the_answer_streams_in_pieces_that_make_the_whole_text(llm, make):
    pieces = list(make(llm.url).stream("system", "user"))
    assert len(pieces) > 3
    assert "".join(p.text for p in pieces) == "Revenue was 42 million dollars [1]."
    assert pieces[-1].finish_reason in ("eos_token", "stop")


def test_tgi_gets_a_llama3_prompt_a_low_temperature_and_the_end_of_turn_stop(llm):
    list(tgi(llm.url).stream("SYS", "USER"))
    _path, body = llm.requests[-1]
    assert body["inputs"].startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSYS")
    assert body["parameters"]["temperature"] == 0.1
    assert body["parameters"]["stop"] == ["<|eot_id|>"]
    assert body["stream"] is True


def test_an_openai_server_gets_system_and_user_messages(llm):
    list(openai(llm.url).stream("SYS", "USER"))
    path, body = llm.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "SYS"}, {"role": "user", "content": "USER"}]
    assert body["stream"] is True
    assert body["max_tokens"] == 64


def test_a_rejected_prompt_is_a_permanent_error(llm):
    error = failure_of(tgi(llm.url), llm, "422")
    assert error.permanent
    assert error.message.startswith("The answer service rejected the question")


@pytest.mark.parametrize(("failure", "message"), [("424", FAILED), ("429", OVERLOADED), ("500", FAILED)])
@pytest.mark.parametrize("make", [tgi, openai], ids=["tgi", "openai"])
def test_server_errors_are_transient_with_a_plain_message(llm, make, failure, message):
    error = failure_of(make(llm.url), llm, failure)
    assert not error.permanent
    assert error.message == message


@pytest.mark.parametrize("make", [tgi, openai], ids=["tgi", "openai"])
def test_a_stalled_server_times_out_within_the_timeout(llm, make):
    llm.stall_seconds = 10
    started = time.monotonic()
    error = failure_of(make(llm.url), llm, "stall")
    assert time.monotonic() - started < 3
    assert error.message == TIMED_OUT
    assert not error.permanent


@pytest.mark.parametrize("make", [tgi, openai], ids=["tgi", "openai"])
def test_a_stream_cut_in_the_middle_raises_after_the_first_pieces(llm, make):
    llm.failure, llm.cut_after = "cut", 3
    received = []

    def read_all() -> None:
        received.extend(piece.text for piece in make(llm.url).stream("system", "user"))

    with pytest.raises(LLMError) as caught:
        read_all()
    assert len(received) == 3
    assert caught.value.message == CUT_OFF


def test_an_error_event_in_the_stream_is_a_failure(llm):
    llm.failure, llm.cut_after = "error_event", 2
    assert failure_of(tgi(llm.url)).message == FAILED


def test_a_refused_connection_is_tried_twice_then_reported_unreachable():
    started = time.monotonic()
    error = failure_of(tgi(refused_url()))
    assert error.message == UNREACHABLE
    assert not error.permanent
    assert time.monotonic() - started >= 0.5  # the pause before the second try


def test_limits_come_from_info_and_are_cached(llm):
    backend = tgi(llm.url)
    assert backend.limits().max_input_tokens == 8000
    backend.limits()
    assert [path for path, _ in llm.requests].count("/info") == 1


def test_limits_from_a_dead_server_raise_an_llm_error():
    with pytest.raises(LLMError):
        tgi(refused_url()).limits()


def test_a_server_without_a_tokenizer_leaves_counting_to_the_estimate(llm):
    assert openai(llm.url).count_tokens(["some text"]) is None
    assert tgi(refused_url()).count_tokens(["some text"]) is None


def test_a_dead_server_is_not_asked_again_by_every_question_for_a_few_seconds():
    backend = tgi(refused_url())
    with pytest.raises(LLMError):
        backend.limits()
    started = time.monotonic()
    with pytest.raises(LLMError):
        backend.limits()
    assert time.monotonic() - started < 0.05
