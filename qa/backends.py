"""The answering backend the settings choose: an LLM client, kept between requests, or None for extracted
answers."""

import functools

from django.conf import settings

from . import llm


@functools.cache
def configured_backend(
    kind: str, url: str, model: str, api_key: str, temperature: float, max_new_tokens: int, timeout: float, budget: int
) -> llm.Backend | None:
    if kind == "extractive" or not url:
        return None
    return llm.BACKENDS[kind](
        url,
        timeout=timeout,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        max_input_tokens=budget,
        model=model,
        api_key=api_key,
    )


def answer_mode() -> str:
    """How questions are answered as configured: "extracted" (no LLM), "local" (the LLM server the app
    runs itself) or "server" (one it is pointed at)."""
    chosen = backend()
    if chosen is None:
        return "extracted"
    return "local" if chosen.name == "local" else "server"


def backend() -> llm.Backend | None:
    """The LLM backend the settings choose (kept between requests), or None for extractive answers."""
    return configured_backend(
        settings.LLM_BACKEND,
        settings.LLM_URL,
        settings.LLM_MODEL,
        settings.LLM_API_KEY,
        settings.LLM_TEMPERATURE,
        settings.LLM_MAX_NEW_TOKENS,
        settings.LLM_TIMEOUT,
        settings.LLM_MAX_INPUT_TOKENS,
    )
