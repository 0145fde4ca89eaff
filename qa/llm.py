"""The only module that talks to an LLM server.

Two kinds of server: TGI's native API (a raw llama-3 prompt to /generate_stream) and any
OpenAI-compatible chat server (/v1/chat/completions: TGI's Messages API, vLLM, SGLang,
llama.cpp). Both stream through huggingface_hub's InferenceClient. Every call has a
timeout; a refused connection is tried once more; every failure becomes an LLMError that
says in plain words what happened and whether trying again later can help.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
from huggingface_hub import InferenceClient
from huggingface_hub.errors import (
    GenerationError,
    HfHubHTTPError,
    IncompleteGenerationError,
    InferenceTimeoutError,
    OverloadedError,
    TextGenerationError,
    ValidationError,
)

from .prompting import END_OF_TURN, render_llama3

LIMITS_TTL_SECONDS = 60
FAILURE_TTL_SECONDS = 5  # a dead server is not asked again by every waiting question
RETRY_PAUSE_SECONDS = 0.5

UNREACHABLE = "The answer service could not be reached."
TIMED_OUT = "The answer service did not respond in time."
OVERLOADED = "The answer service is busy with other questions."
FAILED = "The answer service failed while writing the answer."
CUT_OFF = "The connection to the answer service was lost while it was answering."
REJECTED = "The answer service rejected the question: {detail}"
MISCONFIGURED = "The answer service is not set up correctly (HTTP {status}). An administrator has to fix it."


class LLMError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent  # True when trying again cannot help


@dataclass(frozen=True)
class Limits:
    max_input_tokens: int  # the longest prompt the server takes
    max_total_tokens: int | None  # prompt + answer, when the server says
    model_id: str


@dataclass(frozen=True)
class Piece:
    text: str
    finish_reason: str = ""  # set on the last piece: "stop", "length", "eos_token", ...


def make_piece(text: str, finish_reason: object) -> Piece:
    # A NUL character cannot be stored in PostgreSQL text; a server may send anything.
    return Piece(text=text.replace("\x00", ""), finish_reason=str(finish_reason or "")[:30])


def classify(exc: BaseException) -> LLMError:
    """The LLMError for anything the HTTP client or the server raised."""
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, InferenceTimeoutError | httpx2.TimeoutException | TimeoutError):
        return LLMError(TIMED_OUT, permanent=False)
    if isinstance(exc, httpx2.ConnectError | ConnectionRefusedError):
        return LLMError(UNREACHABLE, permanent=False)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError | ConnectionError):
        return LLMError(CUT_OFF, permanent=False)
    if isinstance(exc, ValidationError):
        return LLMError(REJECTED.format(detail=exc), permanent=True)
    if isinstance(exc, OverloadedError):
        return LLMError(OVERLOADED, permanent=False)
    if isinstance(exc, GenerationError | IncompleteGenerationError | TextGenerationError):
        return LLMError(FAILED, permanent=False)
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 429:
            return LLMError(OVERLOADED, permanent=False)
        if status == 408:
            return LLMError(TIMED_OUT, permanent=False)
        if status == 424:  # TGI: generation failed on the server (out of memory, for one)
            return LLMError(FAILED, permanent=False)
        if status in (400, 413, 422):
            return LLMError(REJECTED.format(detail=f"HTTP {status}"), permanent=True)
        if 400 <= status < 500:
            return LLMError(MISCONFIGURED.format(status=status), permanent=True)
        return LLMError(FAILED, permanent=False)
    if isinstance(exc, httpx2.HTTPError):
        return LLMError(UNREACHABLE, permanent=False)
    return LLMError(FAILED, permanent=False)


def is_refused(exc: BaseException) -> bool:
    return isinstance(exc, httpx2.ConnectError | ConnectionRefusedError)


class Backend:
    """What the asking service needs from an LLM server, whatever kind it is."""

    name = ""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        temperature: float,
        max_new_tokens: int,
        max_input_tokens: int,
        model: str = "",
        api_key: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.default_max_input_tokens = max_input_tokens
        self.model = model
        self.api_key = api_key
        self.cached_limits: tuple[float, Limits | LLMError] | None = None
        # One client, kept: making one loads the CA bundle, which costs about 20 ms.
        self.http_client = httpx2.Client(headers=self.headers(), timeout=min(self.timeout, 10))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def client(self, base_url: str) -> InferenceClient:
        return InferenceClient(base_url=base_url, timeout=self.timeout, api_key=self.api_key or None)

    def limits(self) -> Limits:
        """The server's token limits, asked at most once a minute (a failure is kept for a few seconds)."""
        cached = self.cached_limits
        if cached:
            age = time.monotonic() - cached[0]
            if isinstance(cached[1], Limits) and age < LIMITS_TTL_SECONDS:
                return cached[1]
            if isinstance(cached[1], LLMError) and age < FAILURE_TTL_SECONDS:
                raise cached[1]
        # Asked without holding a lock: two threads may both ask, which is cheaper than queueing.
        try:
            result: Limits | LLMError = self.fetch_limits()
        except LLMError as exc:
            result = exc
        self.cached_limits = (time.monotonic(), result)  # one assignment: readers see old or new
        if isinstance(result, LLMError):
            raise result
        return result

    def get_json(self, method: str, path: str, body: dict | None = None) -> object:
        try:
            response = self.http_client.request(method, self.url + path, json=body)
            response.raise_for_status()
            return response.json()
        except httpx2.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc

    def fetch_limits(self) -> Limits:
        return Limits(max_input_tokens=self.default_max_input_tokens, max_total_tokens=None, model_id=self.model)

    def prompt_budget(self) -> int:
        """Tokens the prompt may use, leaving room for the answer."""
        limits = self.limits()
        budget = limits.max_input_tokens
        if limits.max_total_tokens:
            budget = min(budget, limits.max_total_tokens - self.max_new_tokens)
        return max(budget, 0)

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        """How many tokens each of texts (consecutive parts of one prompt) has by the server's own tokenizer;
        None when it has none or cannot be asked (counting is an optimisation: the estimate still keeps the
        prompt in budget)."""
        return None

    def model_id(self) -> str:
        try:
            return (self.limits().model_id or self.model)[:300]
        except LLMError:
            return self.model[:300]

    def stream(self, system: str, user: str, *, max_new_tokens: int | None = None) -> Iterator[Piece]:
        """The answer as it is generated; a refused connection is tried once more before anything streams."""
        for attempt in (1, 2):
            has_streamed = False
            try:
                for piece in self.open_stream(system, user, max_new_tokens or self.max_new_tokens):
                    has_streamed = True
                    yield piece
                return
            except Exception as exc:
                if attempt == 1 and not has_streamed and is_refused(exc):
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise classify(exc) from exc

    def complete(self, system: str, user: str, *, max_new_tokens: int) -> str:
        """A short answer whole (a rewritten question, say); raises LLMError."""
        return "".join(piece.text for piece in self.stream(system, user, max_new_tokens=max_new_tokens))

    def open_stream(self, system: str, user: str, max_new_tokens: int) -> Iterator[Piece]:
        raise NotImplementedError

    def health_url(self) -> str:
        return self.url + "/health"

    def check_health(self, timeout: float) -> None:
        """Raises an LLMError unless the server says it is ready to answer."""
        try:
            self.http_client.get(self.health_url(), timeout=timeout).raise_for_status()
        except Exception as exc:
            raise classify(exc) from exc


class TGIBackend(Backend):
    """TGI's native API: /info for limits, /tokenize for counting, /generate_stream for answers."""

    name = "tgi"

    def fetch_limits(self) -> Limits:
        info = self.get_json("GET", "/info") or {}
        max_input = info.get("max_input_tokens") or info.get("max_input_length") or self.default_max_input_tokens
        return Limits(
            max_input_tokens=int(max_input),
            max_total_tokens=int(info["max_total_tokens"]) if info.get("max_total_tokens") else None,
            model_id=str(info.get("model_id") or self.model),
        )

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        # One request: the whole prompt is tokenized, and each token counts for the part it starts in.
        try:
            tokens = self.get_json("POST", "/tokenize", {"inputs": "".join(texts)})
        except LLMError:
            return None
        if not isinstance(tokens, list):
            return None
        return tokens_per_part(texts, sorted(int(token["start"]) for token in tokens))

    def open_stream(self, system: str, user: str, max_new_tokens: int) -> Iterator[Piece]:
        with self.client(self.url) as client:
            events = client.text_generation(
                render_llama3(system, user),
                stream=True,
                details=True,
                max_new_tokens=max_new_tokens,
                temperature=self.temperature,
                stop=[END_OF_TURN],
            )
            for event in events:
                text = "" if event.token.special else event.token.text
                finish_reason = event.details.finish_reason if event.details else ""
                if text or finish_reason:
                    yield make_piece(text, finish_reason)


def tokens_per_part(texts: list[str], starts: list[int]) -> list[int]:
    """How many of the tokens starting at the sorted character positions starts fall in each of texts,
    laid end to end."""
    counts = [0] * len(texts)
    part, end = 0, len(texts[0]) if texts else 0
    for start in starts:
        while part < len(texts) - 1 and start >= end:
            part += 1
            end += len(texts[part])
        counts[part] += 1
    return counts


class OpenAIBackend(Backend):
    """Any OpenAI-compatible chat server; it applies the chat template itself."""

    name = "openai"

    def base_url(self) -> str:
        # InferenceClient appends /v1/chat/completions unless the URL already ends in /v1.
        return self.url

    def health_url(self) -> str:
        # Every OpenAI-compatible server lists its models; not all of them have /health.
        return self.url.removesuffix("/v1") + "/v1/models"

    def open_stream(self, system: str, user: str, max_new_tokens: int) -> Iterator[Piece]:
        with self.client(self.base_url()) as client:
            chunks = client.chat_completion(
                [{"role": "system", "content": system}, {"role": "user", "content": user}],
                model=self.model or None,
                stream=True,
                max_tokens=max_new_tokens,
                temperature=self.temperature,
            )
            for chunk in chunks:
                if not chunk.choices:
                    continue  # a usage-only chunk
                choice = chunk.choices[0]
                text = choice.delta.content or "" if choice.delta else ""
                if text or choice.finish_reason:
                    yield make_piece(text, choice.finish_reason)


class LocalBackend(OpenAIBackend):
    """llama.cpp's server as the app runs it (qa/local_llm.py): OpenAI's chat API, with its own tokenizer
    for counting, and the context size the app gave it as the limit."""

    name = "local"

    # The server serves one request at a time, and its model list waits for an answer that is streaming:
    # its limits are the ones it was started with (the settings), and its health is its API answering.
    def health_url(self) -> str:
        return self.url + "/openapi.json"

    def count_tokens(self, texts: list[str]) -> list[int] | None:
        # The server tokenizes a text as a whole prompt, adding the model's begin-of-text token when it has
        # one: what an empty text counts is that, and is taken off each part. Loopback requests take a
        # millisecond each.
        try:
            empty, *counts = (self.get_json("POST", "/extras/tokenize/count", {"input": t}) for t in ["", *texts])
            return [int(count["count"]) - int(empty["count"]) for count in counts]
        except (LLMError, KeyError, TypeError, ValueError):
            return None


BACKENDS = {"tgi": TGIBackend, "openai": OpenAIBackend, "local": LocalBackend}
