"""A fake text-generation-inference (TGI) server: real HTTP on 127.0.0.1, standard library only.

It serves GET /info and /health, POST /tokenize, /generate, /generate_stream, the compat route / (where
huggingface_hub's `InferenceClient.text_generation` posts when given a base URL) and /v1/chat/completions.
Bodies, SSE framing, validation messages and error shapes follow TGI's OpenAPI spec and router source
(`router/src/server.rs`, `validation.rs`, `chat.rs`) and the recorded exchanges in shared/tgi/
(huggingface_hub's VCR cassettes and TGI's integration-test snapshots).

Real TGI behaviour that clients trip over, and that this fake copies:
- Streams always answer 200: validation errors arrive as an error event inside the stream.
- A natural end streams one more token, the special end-of-sequence token (`special: true`). It is left out of
  `generated_text`, and the chat stream sends it as empty content.
- /generate_stream writes `data:{...}` (no space) and never sends [DONE]; the chat stream ends with `data: [DONE]`.
- Streams open with an SSE keep-alive comment.
"""

import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "3.3.6"
MAX_STOP_SEQUENCES = 4
EOS_TOKEN = {"id": 128009, "text": "<|eot_id|>", "logprob": -0.01, "special": True}
GENERATION_ROUTES = ("/", "/generate", "/generate_stream", "/v1/chat/completions")
CHAT_FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}
GENERATION_FAILED = "Request failed during generation: Server error: CUDA out of memory"
HTTP_FAILURES = {
    "424": (424, GENERATION_FAILED, "generation"),
    "429": (429, "Model is overloaded", "overloaded"),
    "500": (500, "Incomplete generation", "incomplete_generation"),
}
STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Transfer-Encoding": "chunked",
    "Connection": "close",
}
_PIECE = re.compile(r"\s*\S+|\s+")


def split_tokens(text: str) -> list[tuple[int, int]]:
    """Character spans of a BPE-like tokenization: a word with its leading space, long words cut every 4 characters."""
    spans = []
    for match in _PIECE.finditer(text):
        start, stop = match.span()
        first_stop = stop - len(match.group().lstrip()) + 4
        spans.append((start, min(first_stop, stop)))
        spans.extend((i, min(i + 4, stop)) for i in range(first_stop, stop, 4))
    return spans


def make_token(text: str) -> dict:
    token_id = zlib.crc32(text.encode()) % 128000
    return {"id": token_id, "text": text, "logprob": -round(token_id % 997 / 400, 4), "special": False}


def text_of(tokens: list[dict]) -> str:
    """The generated text: special tokens are left out."""
    return "".join(token["text"] for token in tokens if not token["special"])


def chat_prompt(messages: list[dict]) -> str:
    """A plain stand-in for the model's chat template, used to count prompt tokens."""
    lines = []
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        lines.append(f"{message.get('role')}: {content}\n")
    return "".join(lines) + "assistant:"


def make_usage(prompt_tokens: int, completion_tokens: int) -> dict:
    total_tokens = prompt_tokens + completion_tokens
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": total_tokens}


def to_json(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def refused_url() -> str:
    """The URL of a local port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class InvalidRequest(Exception):
    """A request that TGI's validation rejects; the message is TGI's, without its prefix."""


class FakeLLM:
    """Context manager. `with FakeLLM() as llm:` gives `llm.url`, e.g. 'http://127.0.0.1:PORT'."""

    def __init__(
        self,
        *,
        answer: str = "The document says the answer is 42.",
        model_id: str = "jondurbin/airoboros-70b-3.3",
        max_input_tokens: int = 8000,
        max_total_tokens: int = 8192,
        token_delay: float = 0.0,
    ) -> None:
        self.answer = answer
        # (text, reply): a prompt that contains text gets reply instead of answer (the first that matches).
        self.replies: list[tuple[str, str]] = []
        self.model_id = model_id
        self.max_input_tokens = max_input_tokens
        self.max_total_tokens = max_total_tokens
        self.token_delay = token_delay
        self.failure: str | None = None
        self.stall_seconds = 30.0
        self.cut_after = 3
        self.requests: list[tuple[str, dict | None]] = []
        self.url = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "FakeLLM":
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes stalled requests and slow streams
        self._server.shutdown()
        self._server.server_close()  # closes the listening socket: the port now refuses
        self._thread.join()
        self._server = None

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record(self, path: str, body: dict | None) -> None:
        with self._lock:
            self.requests.append((path, body))

    def sleep(self, seconds: float) -> bool:
        """Wait, and say whether the server is still running afterwards."""
        return not self._stopping.wait(seconds)

    def info(self) -> dict:
        return {
            "model_id": self.model_id,
            "model_sha": None,
            "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": 128,
            "max_best_of": 2,
            "max_stop_sequences": MAX_STOP_SEQUENCES,
            "max_input_tokens": self.max_input_tokens,
            "max_total_tokens": self.max_total_tokens,
            "validation_workers": 2,
            "max_client_batch_size": 4,
            "router": "text-generation-router",
            "version": VERSION,
            "sha": None,
            "docker_label": None,
        }

    def validate(self, inputs: str, params: dict) -> tuple[int, int]:
        """Check a request as TGI's validation does; return (input tokens, max new tokens)."""
        temperature, max_new_tokens, stop = params.get("temperature"), params.get("max_new_tokens"), params.get("stop")
        if temperature is not None and temperature <= 0:
            raise InvalidRequest("`temperature` must be strictly positive")
        if max_new_tokens == 0:
            raise InvalidRequest("`max_new_tokens` must be strictly positive")
        if len(stop or []) > MAX_STOP_SEQUENCES:
            raise InvalidRequest(f"`stop` supports up to {MAX_STOP_SEQUENCES} stop sequences. Given: {len(stop)}")
        if not inputs:
            raise InvalidRequest("`inputs` cannot be empty")
        input_tokens = len(split_tokens(inputs))
        if max_new_tokens is None:
            max_new_tokens = max(self.max_total_tokens - input_tokens, 0)
        # TGI checks the total before the input length.
        if input_tokens + max_new_tokens > self.max_total_tokens:
            raise InvalidRequest(
                f"`inputs` tokens + `max_new_tokens` must be <= {self.max_total_tokens}. "
                f"Given: {input_tokens} `inputs` tokens and {max_new_tokens} `max_new_tokens`"
            )
        if input_tokens > self.max_input_tokens:
            raise InvalidRequest(f"`inputs` must have less than {self.max_input_tokens} tokens. Given: {input_tokens}")
        return input_tokens, max_new_tokens

    def reply_to(self, inputs: str) -> str:
        return next((reply for text, reply in self.replies if text in inputs), self.answer)

    def generate(self, inputs: str, max_new_tokens: int, stop: list[str]) -> tuple[list[dict], str]:
        """The tokens of the reply up to a stop sequence, the token limit or the end-of-sequence token."""
        reply = self.reply_to(inputs)
        candidates = [make_token(reply[a:b]) for a, b in split_tokens(reply)] + [dict(EOS_TOKEN)]
        tokens, text = [], ""
        for token in candidates:
            if len(tokens) == max_new_tokens:
                return tokens, "length"
            tokens.append(token)
            text += token["text"]
            if not token["special"] and any(sequence and sequence in text for sequence in stop):
                return tokens, "stop_sequence"
        return tokens, "eos_token"

    def failure_response(self, failure: str | None) -> tuple[int, dict] | None:
        """The HTTP error a failure mode answers with before generating, if it has one."""
        if failure == "422":
            limit = self.max_input_tokens
            message = f"Input validation error: `inputs` must have less than {limit} tokens. Given: {limit + 1}"
            return 422, {"error": message, "error_type": "validation"}
        if failure in HTTP_FAILURES:
            status, message, error_type = HTTP_FAILURES[failure]
            return status, {"error": message, "error_type": error_type}
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def fake(self) -> FakeLLM:
        return self.server.fake

    def do_GET(self) -> None:
        self.close_connection = True  # one request per connection, so that stop() leaves nothing served
        self.fake.record(self.path, None)
        if self.fake.failure == "stall" and not self.fake.sleep(self.fake.stall_seconds):
            return  # stopped while stalling: drop the connection
        if self.path == "/info":
            self.send_body(200, to_json(self.fake.info()))
        else:
            self.send_body(200 if self.path == "/health" else 404, b"", content_type=None)

    def do_POST(self) -> None:
        self.close_connection = True
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except ValueError:
            body = None
        self.fake.record(self.path, body)
        failure = self.fake.failure
        if failure == "stall" and not self.fake.sleep(self.fake.stall_seconds):
            return
        if self.path not in ("/tokenize", *GENERATION_ROUTES):
            return self.send_body(404, b"", content_type=None)
        if not isinstance(body, dict):
            # axum rejects a malformed body with plain text (see the unprocessable_entity cassette).
            return self.send_body(422, b"Failed to deserialize the JSON body into the target type", "text/plain")
        if self.path == "/tokenize":
            inputs = body.get("inputs") or ""
            spans = split_tokens(inputs)
            tokens = [
                {"id": make_token(inputs[a:b])["id"], "text": inputs[a:b], "start": a, "stop": b} for a, b in spans
            ]
            return self.send_body(200, to_json(tokens))
        is_stream = self.path == "/generate_stream" or bool(body.get("stream"))
        if failure == "cut" and not is_stream:
            return  # the connection closes without any response
        # A generation that fails without streaming answers 424, as TGI does.
        error = self.fake.failure_response("424" if failure == "error_event" and not is_stream else failure)
        if error:
            return self.send_body(error[0], to_json(error[1]))
        try:
            if self.path == "/v1/chat/completions":
                self.chat(body, is_stream, failure)
            else:
                self.text_generation(body, is_stream, failure)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away

    def text_generation(self, body: dict, is_stream: bool, failure: str | None) -> None:
        inputs, params = body.get("inputs") or "", body.get("parameters") or {}
        prefix = inputs if params.get("return_full_text") else ""
        if is_stream:

            def event(index: int, token: dict, details: dict | None, tokens: list[dict]) -> bytes:
                text = prefix + text_of(tokens) if details else None
                details = details if params.get("details") else None
                return b"data:" + to_json({"index": index, "token": token, "generated_text": text, "details": details})

            def error_event(message: str, error_type: str) -> bytes:
                return b"data:" + to_json({"error": message, "error_type": error_type})

            return self.stream(inputs, params, failure, event, error_event, done=None)
        try:
            _, max_new_tokens = self.fake.validate(inputs, params)
        except InvalidRequest as error:
            return self.send_validation_error(error)
        tokens, finish_reason = self.fake.generate(inputs, max_new_tokens, params.get("stop") or [])
        response = {"generated_text": prefix + text_of(tokens)}
        if params.get("details"):
            details = {"finish_reason": finish_reason, "generated_tokens": len(tokens), "seed": params.get("seed")}
            # Prompt tokens ("prefill") come back only with decoder_input_details, which we never ask for.
            response["details"] = details | {"prefill": [], "tokens": tokens}
        # The compat route wraps the answer in a list, as the serverless Inference API did.
        self.send_body(200, to_json([response] if self.path == "/" else response))

    def chat(self, body: dict, is_stream: bool, failure: str | None) -> None:
        stop, temperature = body.get("stop") or [], body.get("temperature")
        params = {
            "max_new_tokens": body.get("max_tokens"),
            "temperature": None if temperature == 0 else temperature,  # the chat route reads 0 as greedy decoding
            "stop": [stop] if isinstance(stop, str) else stop,
        }
        inputs = chat_prompt(body.get("messages") or [])
        if is_stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

            def event(index: int, token: dict, details: dict | None, tokens: list[dict]) -> bytes:
                delta = {"role": "assistant", "content": "" if token["special"] else token["text"]}
                finish_reason = CHAT_FINISH_REASONS[details["finish_reason"]] if details else None
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                chunks = [self.chat_object("chat.completion.chunk", choices=[choice], usage=None)]
                if details and include_usage:
                    usage = make_usage(details["input_length"], len(tokens))
                    chunks.append(self.chat_object("chat.completion.chunk", choices=[], usage=usage))
                return b"\n\n".join(b"data: " + to_json(chunk) for chunk in chunks)

            def error_event(message: str, error_type: str) -> bytes:
                # The OpenAI routes report every in-stream error with status 422.
                return b"data: " + to_json({"error": {"message": message, "http_status_code": 422}})

            return self.stream(inputs, params, failure, event, error_event, done=b"data: [DONE]")
        try:
            input_tokens, max_new_tokens = self.fake.validate(inputs, params)
        except InvalidRequest as error:
            return self.send_validation_error(error)
        tokens, finish_reason = self.fake.generate(inputs, max_new_tokens, params["stop"])
        message = {"role": "assistant", "content": text_of(tokens)}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": CHAT_FINISH_REASONS[finish_reason]}
        usage = make_usage(input_tokens, len(tokens))
        self.send_body(200, to_json(self.chat_object("chat.completion", choices=[choice], usage=usage)))

    def stream(
        self,
        inputs: str,
        params: dict,
        failure: str | None,
        event: Callable[[int, dict, dict | None, list[dict]], bytes],
        error_event: Callable[[str, str], bytes],
        done: bytes | None,
    ) -> None:
        """Send an SSE stream: one event per token, the last one with the details."""
        self.send_response(200)
        for name, value in STREAM_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.send_chunk(b":\n\n")  # keep-alive comment
        try:
            input_tokens, max_new_tokens = self.fake.validate(inputs, params)
        except InvalidRequest as error:
            return self.end_stream(error_event(f"Input validation error: {error}", "validation"), done)
        tokens, finish_reason = self.fake.generate(inputs, max_new_tokens, params.get("stop") or [])
        for index, token in enumerate(tokens, start=1):
            is_last = index == len(tokens)
            if failure in ("cut", "error_event") and (index > self.fake.cut_after or is_last):
                if failure == "cut":
                    return  # no terminating chunk: the client sees the connection drop mid-body
                return self.end_stream(error_event(GENERATION_FAILED, "generation"), done)
            details = None
            if is_last:
                details = {"finish_reason": finish_reason, "generated_tokens": len(tokens)}
                details |= {"seed": params.get("seed"), "input_length": input_tokens}
            self.send_event(event(index, token, details, tokens))
            if not is_last and not self.fake.sleep(self.fake.token_delay):
                return
        self.end_stream(None, done)

    def end_stream(self, last_event: bytes | None, done: bytes | None) -> None:
        for data in (last_event, done):
            if data:
                self.send_event(data)
        self.send_chunk(b"")

    def chat_object(self, kind: str, **fields: object) -> dict:
        header = {"object": kind, "id": "", "created": int(time.time()), "model": self.fake.model_id}
        return header | {"system_fingerprint": f"{VERSION}-native"} | fields

    def send_validation_error(self, error: InvalidRequest) -> None:
        self.send_body(422, to_json({"error": f"Input validation error: {error}", "error_type": "validation"}))

    def send_body(self, status: int, body: bytes, content_type: str | None = "application/json") -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_event(self, data: bytes) -> None:
        self.send_chunk(data + b"\n\n")

    def send_chunk(self, data: bytes) -> None:
        """Write one HTTP chunk; an empty one ends the body."""
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
