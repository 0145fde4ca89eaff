"""Answering a question: retrieve, pack the prompt, stream the answer, resolve and verify citations.

start_answer stores the question (within the user's limit); answer_events then yields events as
the answer is made, for the streaming endpoints; ask does both and runs to the end. Whatever fails
(the LLM server above all), the user gets the passages and a plain message, and the stored Answer
says what happened.
"""

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ingestion import embeddings, indexing
from ingestion.models import Corpus

from . import admission, citations, extractive, llm, payloads, prompting, verification
from .models import Answer, Source
from .search import Passage, retrieve

log = logging.getLogger(__name__)

# 20,000 sentences of a 384-d model: 30 MB per web process.
SENTENCES_REMEMBERED = 20_000
# An answer is cut here even if the LLM server ignores its token limit (LLM_MAX_NEW_TOKENS is far less).
ANSWER_MAX_CHARS = 20_000

NO_PASSAGES = "Nothing in the selected documents matches this question closely enough to answer it."
NO_ROOM = "The passages found are longer than the answer service accepts, so it was not asked."
NO_SENTENCE = "No sentence of the passages below answers this question well enough to quote it."
NOT_ANSWERED = " The passages that were found are shown below."
INCOMPLETE = " The answer above is incomplete."
LENGTH_LIMIT = "The answer reached its length limit and was cut short."
UNEXPECTED = "Something went wrong while answering. Try again in a moment."
STOPPED = "The answer was stopped before it was complete."


@dataclass
class Event:
    kind: str  # "sources", "token" or "done"
    data: dict = field(default_factory=dict)


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


def passage_url(passage: Passage, base_url: str) -> str:
    chunk = passage.chunk
    url = base_url.rstrip("/") + reverse("ingestion:document", args=[chunk.document_id]) + f"?passage={chunk.pk}"
    return url + (f"#page={chunk.page}" if chunk.page else f"#passage-{chunk.pk}")


def make_blocks(passages: list[Passage], base_url: str) -> list[prompting.Block]:
    blocks = []
    for number, passage in enumerate(passages, start=1):
        document = passage.chunk.document
        date = document.document_date or document.created_at.date()
        blocks.append(
            prompting.Block(
                source=number,
                title=document.display_title,
                date=date.isoformat(),
                url=passage_url(passage, base_url),
                # Passages cut before CHUNK_MAX_CHARS existed can be megabytes long.
                text=passage.chunk.text[: settings.CHUNK_MAX_CHARS],
            )
        )
    return blocks


class AskLimitReached(Exception):
    """The user has asked ASK_LIMIT_PER_MINUTE questions in the last minute; the message is meant for them."""


def ask(question: str, corpora: list[Corpus], *, user=None, base_url: str = "") -> Answer:
    """Answers a question to the end and returns the stored Answer; raises AskLimitReached."""
    answer = start_answer(question, corpora, user=user)
    for _ in answer_events(answer, corpora, base_url=base_url):
        pass
    return Answer.objects.get(pk=answer.pk)


def answer_question(question: str, corpora: list[Corpus], *, user=None, base_url: str = "") -> Iterator[Event]:
    """Starts an answer and yields its events; raises AskLimitReached when first iterated."""
    yield from answer_events(start_answer(question, corpora, user=user), corpora, base_url=base_url)


def start_answer(question: str, corpora: list[Corpus], *, user=None) -> Answer:
    """Stores a new answer to be made, or raises AskLimitReached.

    Counting the user's answers of the last minute and adding this one happen under one lock on the
    user's row, so parallel questions cannot all pass the limit before any of them is stored."""
    chosen = backend()
    limit = settings.ASK_LIMIT_PER_MINUTE
    with transaction.atomic():
        if user is not None and limit:
            # PostgreSQL: one asker at a time per user. SQLite: transactions begin IMMEDIATE, one writer at a time.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            since = timezone.now() - timedelta(minutes=1)
            if Answer.objects.filter(asked_by=user, created_at__gte=since).count() >= limit:
                raise AskLimitReached(
                    f"You have asked {limit} questions in the last minute. Wait a moment and ask again."
                )
        answer = Answer.objects.create(
            question=question,
            asked_by=user,
            mode=Answer.Mode.EXTRACTED if chosen is None else Answer.Mode.GENERATED,
            backend=chosen.name if chosen else "extractive",
        )
        answer.corpora.set(corpora)
    return answer


def answer_events(answer: Answer, corpora: list[Corpus], *, base_url: str = "") -> Iterator[Event]:
    """Makes a started answer, yielding its sources, its text as it comes, then the whole answer."""
    started = time.perf_counter()
    base_url = base_url or settings.SITE_URL
    chosen = backend()
    try:
        yield from run(answer, chosen, corpora, started, base_url)
    except GeneratorExit:
        # The reader went away (a closed browser tab): the record must not stay "answering".
        if answer.status == Answer.Status.ANSWERING:
            finish(answer, started, status=Answer.Status.INCOMPLETE, message=STOPPED)
        raise
    except Exception:
        log.exception("answer %s failed", answer.pk)
        # Written by update(), not save(): whatever broke the answer (text the database refused, say)
        # must not break this too.
        status = Answer.Status.INCOMPLETE if answer.text else Answer.Status.UNAVAILABLE
        Answer.objects.filter(pk=answer.pk).update(status=status, message=UNEXPECTED, total_ms=elapsed_ms(started))
        answer.refresh_from_db()
        yield Event("done", payloads.answer_data(answer))


def run(answer: Answer, chosen: llm.Backend | None, corpora, started: float, base_url: str) -> Iterator[Event]:
    with cpu_turn(answer):
        found = retrieve(answer.question, corpora)
    answer.retrieval_ms = found.seconds * 1000
    blocks = make_blocks(found.passages, base_url)
    if not blocks:
        finish(answer, started, status=Answer.Status.NO_PASSAGES, message=NO_PASSAGES)
        yield Event("sources", payloads.sources_data(answer))
        yield Event("done", payloads.answer_data(answer))
        return

    embed = sentence_embedder(corpora)
    if chosen is None:
        answer.model = corpora[0].embedding_model
        save_sources(answer, found.passages, blocks)
        yield Event("sources", payloads.sources_data(answer))
        with cpu_turn(answer):
            text, _ = extractive.extract_answer(answer.question, [(b.source, b.text) for b in blocks], embed)
            answer.first_token_ms = elapsed_ms(started)
            answer.text = text
            verification.resolve_citations(answer, blocks, embed)
        if text:
            yield Event("token", {"text": text})
        finish(answer, started, status=Answer.Status.COMPLETE, message="" if text else NO_SENTENCE)
        yield Event("done", payloads.answer_data(answer))
        return

    try:
        prompt = prompting.pack(
            blocks, answer.question, budget=chosen.prompt_budget(), token_offsets=chosen.token_offsets
        )
    except llm.LLMError as exc:
        prompt, message = None, exc.message + NOT_ANSWERED
    else:
        message = NO_ROOM + NOT_ANSWERED
    if prompt is None or not prompt.blocks:
        # No prompt can be sent; the user still gets the passages.
        answer.model = chosen.model
        save_sources(answer, found.passages, blocks)
        finish(answer, started, status=Answer.Status.UNAVAILABLE, message=message)
        yield Event("sources", payloads.sources_data(answer))
        yield Event("done", payloads.answer_data(answer))
        return
    answer.model = chosen.model_id()
    answer.prompt_tokens = prompt.tokens
    answer.sources_dropped = prompt.dropped
    save_sources(answer, found.passages, prompt.blocks)
    yield Event("sources", payloads.sources_data(answer))

    pieces: list[str] = []
    length = 0
    try:
        for piece in chosen.stream(prompt.system, prompt.user):
            if piece.text:
                if not pieces:
                    answer.first_token_ms = elapsed_ms(started)
                text = piece.text[: ANSWER_MAX_CHARS - length]
                pieces.append(text)
                length += len(text)
                answer.text = "".join(pieces)  # kept current, for a reader who leaves mid-answer
                yield Event("token", {"text": text})
            if piece.finish_reason:
                answer.finish_reason = piece.finish_reason
            if length >= ANSWER_MAX_CHARS:
                answer.finish_reason = "length"
                break
    except llm.LLMError as exc:
        answer.text = "".join(pieces).strip()
        with cpu_turn(answer):
            verification.resolve_citations(answer, prompt.blocks, embed)
        if answer.text:
            finish(answer, started, status=Answer.Status.INCOMPLETE, message=exc.message + INCOMPLETE)
        else:
            finish(answer, started, status=Answer.Status.UNAVAILABLE, message=exc.message + NOT_ANSWERED)
        yield Event("done", payloads.answer_data(answer))
        return
    answer.text = "".join(pieces).strip()
    with cpu_turn(answer):
        verification.resolve_citations(answer, prompt.blocks, embed)
    if answer.finish_reason == "length":
        finish(answer, started, status=Answer.Status.INCOMPLETE, message=LENGTH_LIMIT)
    else:
        finish(answer, started, status=Answer.Status.COMPLETE)
    yield Event("done", payloads.answer_data(answer))


def rate_answer(answer: Answer, rating: int | None) -> None:
    """Stores the asker's thumbs up (1) or down (-1) on an answer; None takes it back."""
    answer.rating = rating
    answer.rated_at = timezone.now() if rating is not None else None
    answer.save(update_fields=["rating", "rated_at"])


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def sentence_embedder(corpora: list[Corpus]) -> citations.Embed:
    """Embeds sentences for verification and extraction with the (first) corpus' own model, remembering
    the sentences of passages that were found before."""
    return cached_encoder(corpora[0].embedding_model).encode


@functools.cache
def cached_encoder(model: str) -> embeddings.CachedEncoder:
    return embeddings.CachedEncoder(indexing.encoder_for(model), size=SENTENCES_REMEMBERED)


def finish(answer: Answer, started: float, *, status: str, message: str = "") -> None:
    answer.status = status
    answer.message = message
    answer.total_ms = elapsed_ms(started)
    answer.save()


def save_sources(answer: Answer, passages: list[Passage], blocks: list[prompting.Block]) -> None:
    Source.objects.bulk_create(
        Source(
            answer=answer,
            number=block.source,
            chunk=passage.chunk,
            document=passage.chunk.document,
            title=block.title,
            page=passage.chunk.page,
            date=block.date,
            url=block.url,
            text=block.text,
            score=passage.score,
        )
        for passage, block in zip(passages, blocks, strict=False)
    )


@contextmanager
def cpu_turn(answer: Answer) -> Iterator[None]:
    """Runs the block in one of the process' turns on the CPU, adding the wait for it to the answer's."""
    with admission.slots(settings.ANSWER_CPU_SLOTS).taken() as wait:
        answer.waited_ms = (answer.waited_ms or 0.0) + wait.seconds * 1000
        yield
