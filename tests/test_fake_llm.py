"""The fake TGI server, driven over real HTTP by huggingface_hub's InferenceClient and by urllib."""

import contextlib
import http.client
import json
import threading
import time
import urllib.error
import urllib.request

import httpx2
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import (
    GenerationError,
    HfHubHTTPError,
    IncompleteGenerationError,
    InferenceTimeoutError,
    OverloadedError,
    UnknownError,
    ValidationError,
)

from testkit.fake_llm import FakeLLM, refused_url

ANSWER = "Paris is the capital of France. It has about two million people."
MESSAGES = [{"role": "system", "content": "Answer from the documents."}, {"role": "user", "content": "Capital?"}]


def client(llm: FakeLLM, timeout: float = 5) -> InferenceClient:
    return InferenceClient(base_url=llm.url, timeout=timeout)


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_ignoring_errors(url: str) -> None:
    with contextlib.suppress(OSError):
        get(url)


def wait_for_requests(llm: FakeLLM, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(llm.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


# Plain HTTP


def test_info_reports_the_model_and_its_token_limits():
    with FakeLLM(max_input_tokens=7000, max_total_tokens=8000) as llm:
        status, body = get(llm.url + "/info")
    info = json.loads(body)
    assert status == 200
    assert info["model_id"] == "jondurbin/airoboros-70b-3.3"
    assert (info["max_input_tokens"], info["max_total_tokens"]) == (7000, 8000)
    assert info["router"] == "text-generation-router"
    assert info["version"] == "3.3.6"


def test_health_answers_200_with_an_empty_body():
    with FakeLLM() as llm:
        assert get(llm.url + "/health") == (200, b"")


def test_unknown_path_answers_404():
    with FakeLLM() as llm:
        assert get(llm.url + "/nope")[0] == 404
        assert post(llm.url + "/v1/completions", {"prompt": "x"})[0] == 404


def test_tokenize_gives_offsets_into_the_inputs_at_about_1_3_tokens_a_word():
    text = "The quick brown fox jumps over the lazy dog near the riverbank."
    with FakeLLM() as llm:
        status, body = post(llm.url + "/tokenize", {"inputs": text})
    tokens = json.loads(body)
    assert status == 200
    assert all(text[token["start"] : token["stop"]] == token["text"] for token in tokens)
    assert "".join(token["text"] for token in tokens) == text
    assert 1.1 <= len(tokens) / len(text.split()) <= 1.6


def test_empty_inputs_are_a_422_validation_error():
    with FakeLLM() as llm:
        status, body = post(llm.url + "/generate", {"inputs": "", "parameters": {"max_new_tokens": 5}})
    assert status == 422
    assert json.loads(body) == {"error": "Input validation error: `inputs` cannot be empty", "error_type": "validation"}


def test_generate_stream_uses_tgi_framing_without_done():
    with FakeLLM(answer="Hello world") as llm:
        status, body = post(llm.url + "/generate_stream", {"inputs": "Hi", "parameters": {"details": True}})
    events = body.decode().split("\n\n")
    assert status == 200
    assert events[0] == ":"  # keep-alive comment
    assert all(event.startswith("data:{") for event in events[1:-1])
    assert events[-1] == ""
    first, last = json.loads(events[1][5:]), json.loads(events[-2][5:])
    assert first == {"index": 1, "token": first["token"], "generated_text": None, "details": None}
    assert last["generated_text"] == "Hello world"
    assert last["details"]["finish_reason"] == "eos_token"
    assert "[DONE]" not in body.decode()


def test_chat_stream_ends_with_done():
    with FakeLLM() as llm:
        status, body = post(llm.url + "/v1/chat/completions", {"messages": MESSAGES, "stream": True})
    assert status == 200
    assert body.decode().endswith("data: [DONE]\n\n")


def test_every_request_is_recorded_in_order():
    with FakeLLM() as llm:
        get(llm.url + "/info")
        client(llm).text_generation("Question?", max_new_tokens=5)
    assert llm.requests == [("/info", None), ("/", {"inputs": "Question?", "parameters": {"max_new_tokens": 5}})]


# text_generation


def test_streamed_tokens_concatenate_to_the_answer():
    with FakeLLM(answer=ANSWER) as llm:
        hf = client(llm)  # a stream lives only as long as its client
        outputs = list(hf.text_generation("Capital?", max_new_tokens=200, stream=True, details=True))
    assert "".join(output.token.text for output in outputs if not output.token.special) == ANSWER
    assert outputs[-1].generated_text == ANSWER
    assert outputs[-1].details.finish_reason == "eos_token"


def test_a_natural_end_streams_the_special_end_of_sequence_token():
    with FakeLLM(answer=ANSWER) as llm:
        hf = client(llm)
        texts = list(hf.text_generation("Capital?", max_new_tokens=200, stream=True))
    assert texts[-1] == "<|eot_id|>"
    assert "".join(texts[:-1]) == ANSWER


def test_non_streamed_generation_returns_the_answer_and_details():
    with FakeLLM(answer=ANSWER) as llm:
        output = client(llm).text_generation("Capital?", max_new_tokens=200, details=True)
    assert output.generated_text == ANSWER
    assert output.details.generated_tokens == len(output.details.tokens)


def test_generation_stops_after_a_stop_sequence():
    with FakeLLM(answer=ANSWER) as llm:
        output = client(llm).text_generation("Capital?", max_new_tokens=200, stop=["."], details=True)
    assert output.generated_text == "Paris is the capital of France."
    assert output.details.finish_reason == "stop_sequence"


def test_generation_stops_at_max_new_tokens():
    with FakeLLM(answer=ANSWER) as llm:
        hf = client(llm)
        outputs = list(hf.text_generation("Capital?", max_new_tokens=4, stream=True, details=True))
    assert len(outputs) == 4
    assert outputs[-1].details.finish_reason == "length"
    assert outputs[-1].generated_text == "Paris is the"


def test_zero_temperature_is_a_validation_error_for_text_generation():
    with FakeLLM() as llm, pytest.raises(ValidationError, match="`temperature` must be strictly positive"):
        client(llm).text_generation("Capital?", max_new_tokens=5, temperature=0.0)


def test_too_long_a_prompt_is_a_validation_error():
    with FakeLLM(max_input_tokens=5, max_total_tokens=100) as llm, pytest.raises(ValidationError) as caught:
        client(llm).text_generation("one two six ten red big", max_new_tokens=10)
    assert str(caught.value) == "Input validation error: `inputs` must have less than 5 tokens. Given: 6"


def test_too_many_new_tokens_is_a_validation_error():
    with FakeLLM(max_total_tokens=100) as llm, pytest.raises(ValidationError) as caught:
        client(llm).text_generation("one two", max_new_tokens=99)
    assert str(caught.value) == (
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 100. "
        "Given: 2 `inputs` tokens and 99 `max_new_tokens`"
    )


def test_a_validation_error_in_a_stream_arrives_as_an_error_event():
    with FakeLLM() as llm:
        hf = client(llm)
        stream = hf.text_generation("Capital?", max_new_tokens=5, temperature=-1.0, stream=True)
        with pytest.raises(ValidationError, match="`temperature` must be strictly positive"):
            next(stream)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("failure", "error"),
    [("422", ValidationError), ("424", GenerationError), ("429", OverloadedError), ("500", IncompleteGenerationError)],
)
def test_http_failures_raise_text_generation_errors(failure: str, error: type, stream: bool):
    with FakeLLM() as llm:
        llm.failure = failure
        hf = client(llm)
        with pytest.raises(error):
            list(hf.text_generation("Capital?", max_new_tokens=5, stream=stream))


def test_an_error_event_raises_a_generation_error_after_the_first_tokens():
    texts = []
    with FakeLLM(answer=ANSWER) as llm:
        llm.failure, llm.cut_after = "error_event", 2
        hf = client(llm)
        with pytest.raises(GenerationError, match="CUDA out of memory"):
            texts.extend(hf.text_generation("Capital?", max_new_tokens=200, stream=True))
    assert texts == ["Pari", "s"]


def test_a_cut_stream_raises_a_protocol_error_after_the_first_tokens():
    texts = []
    with FakeLLM(answer=ANSWER) as llm:
        llm.failure = "cut"
        hf = client(llm)
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            texts.extend(hf.text_generation("Capital?", max_new_tokens=200, stream=True))
    assert len(texts) == 3


def test_a_cut_without_stream_raises_a_protocol_error():
    with FakeLLM() as llm:
        llm.failure = "cut"
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            client(llm).text_generation("Capital?", max_new_tokens=5)


def test_a_stall_raises_a_timeout_within_two_seconds():
    with FakeLLM() as llm:
        llm.failure = "stall"
        started = time.monotonic()
        with pytest.raises(InferenceTimeoutError):
            client(llm, timeout=1).text_generation("Capital?", max_new_tokens=5, stream=True)
    assert time.monotonic() - started < 2


def test_slow_tokens_past_the_timeout_raise_a_read_timeout_mid_stream():
    texts = []
    with FakeLLM(answer=ANSWER, token_delay=1.5) as llm:
        hf = client(llm, timeout=1)
        with pytest.raises(httpx2.ReadTimeout):
            texts.extend(hf.text_generation("Capital?", max_new_tokens=200, stream=True))
    assert texts == ["Pari"]


def test_a_refused_url_raises_a_connect_error():
    with pytest.raises(httpx2.ConnectError):
        InferenceClient(base_url=refused_url(), timeout=1).text_generation("Capital?", max_new_tokens=5)


def test_stop_makes_the_port_refuse_connections():
    llm = FakeLLM().start()
    llm.stop()
    with pytest.raises(urllib.error.URLError) as caught:
        get(llm.url + "/health")
    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_stop_interrupts_a_stalled_request():
    errors = []
    llm = FakeLLM().start()
    llm.failure = "stall"

    def ask() -> None:
        try:
            get(llm.url + "/info")
        except http.client.RemoteDisconnected as error:
            errors.append(error)

    thread = threading.Thread(target=ask)
    thread.start()
    wait_for_requests(llm, 1)
    started = time.monotonic()
    llm.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 1
    assert len(errors) == 1


def test_a_stalled_request_does_not_hold_up_the_next_one():
    with FakeLLM() as llm:
        llm.failure = "stall"
        thread = threading.Thread(target=get_ignoring_errors, args=[llm.url + "/info"])
        thread.start()
        wait_for_requests(llm, 1)
        llm.failure = None
        assert get(llm.url + "/health") == (200, b"")
    thread.join(timeout=5)


# chat_completion


def test_chat_completion_returns_the_answer_and_usage():
    with FakeLLM(answer=ANSWER) as llm:
        output = client(llm).chat_completion(MESSAGES, max_tokens=200)
    assert output.choices[0].message.content == ANSWER
    assert output.choices[0].finish_reason == "stop"
    assert output.usage.total_tokens == output.usage.prompt_tokens + output.usage.completion_tokens


def test_streamed_chat_deltas_concatenate_to_the_answer():
    with FakeLLM(answer=ANSWER) as llm:
        hf = client(llm)
        chunks = list(hf.chat_completion(MESSAGES, max_tokens=200, stream=True))
    assert "".join(chunk.choices[0].delta.content for chunk in chunks) == ANSWER
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_chat_max_tokens_ends_with_finish_reason_length():
    with FakeLLM(answer=ANSWER) as llm:
        output = client(llm).chat_completion(MESSAGES, max_tokens=4)
    assert output.choices[0].message.content == "Paris is the"
    assert output.choices[0].finish_reason == "length"


def test_zero_temperature_is_greedy_decoding_in_chat():
    with FakeLLM(answer=ANSWER) as llm:
        output = client(llm).chat_completion(MESSAGES, max_tokens=200, temperature=0.0)
    assert output.choices[0].message.content == ANSWER


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("failure", ["422", "424", "429", "500"])
def test_http_failures_raise_hf_hub_http_errors_for_chat(failure: str, stream: bool):
    with FakeLLM() as llm:
        llm.failure = failure
        hf = client(llm)
        with pytest.raises(HfHubHTTPError) as caught:
            list(hf.chat_completion(MESSAGES, max_tokens=5, stream=stream))
    assert caught.value.response.status_code == int(failure)


def test_an_error_event_in_a_chat_stream_raises_an_unknown_error():
    chunks = []
    with FakeLLM(answer=ANSWER) as llm:
        llm.failure = "error_event"
        hf = client(llm)
        # The chat route's error event has no error_type, so huggingface_hub cannot classify it.
        with pytest.raises(UnknownError, match="CUDA out of memory"):
            chunks.extend(hf.chat_completion(MESSAGES, stream=True))
    assert "".join(chunk.choices[0].delta.content for chunk in chunks) == "Paris is"
