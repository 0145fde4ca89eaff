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

from ingestion import embeddings, encoders
from ingestion.models import Corpus

from . import admission, backends, citations, extractive, llm, payloads, prompting, verification
from .models import Answer, Source
from .retrieval import Passage, retrieve

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
    chosen = backends.backend()
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
    chosen = backends.backend()
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


@dataclass(frozen=True)
class Outcome:
    """How a way of answering ended: the answer's status and the message shown with it."""

    status: str
    message: str = ""


def run(answer: Answer, chosen: llm.Backend | None, corpora, started: float, base_url: str) -> Iterator[Event]:
    """Retrieves, answers one of three ways (nothing found, extracted, generated), then finishes: every way
    yields the sources first, then any text, and returns its Outcome."""
    with cpu_turn(answer):
        found = retrieve(answer.question, corpora)
    answer.retrieval_ms = found.seconds * 1000
    blocks = make_blocks(found.passages, base_url)
    if not blocks:
        yield sources_event(answer, [], [])
        outcome = Outcome(Answer.Status.NO_PASSAGES, NO_PASSAGES)
    elif chosen is None:
        outcome = yield from extracted(answer, found.passages, blocks, corpora, started)
    else:
        outcome = yield from generated(answer, chosen, found.passages, blocks, corpora, started)
    finish(answer, started, status=outcome.status, message=outcome.message)
    yield Event("done", payloads.answer_data(answer))


def extracted(answer: Answer, passages: list[Passage], blocks: list[prompting.Block], corpora, started: float):
    """The answer as the passages' sentence that best answers the question (no LLM configured)."""
    answer.model = corpora[0].embedding_model
    yield sources_event(answer, passages, blocks)
    embed = sentence_embedder(corpora)
    with cpu_turn(answer):
        text, _ = extractive.extract_answer(answer.question, [(b.source, b.text) for b in blocks], embed)
        answer.first_token_ms = elapsed_ms(started)
        answer.text = text
        verification.resolve_citations(answer, blocks, embed)
    if text:
        yield Event("token", {"text": text})
    return Outcome(Answer.Status.COMPLETE, "" if text else NO_SENTENCE)


def generated(
    answer: Answer, chosen: llm.Backend, passages: list[Passage], blocks: list[prompting.Block], corpora, started: float
):
    """The answer as the LLM writes it from the passages that fit its prompt, streamed."""
    prompt, refusal = packed_prompt(chosen, blocks, answer.question)
    if prompt is None:
        # No prompt can be sent; the user still gets the passages.
        answer.model = chosen.model
        yield sources_event(answer, passages, blocks)
        return Outcome(Answer.Status.UNAVAILABLE, refusal)
    answer.model = chosen.model_id()
    answer.prompt_tokens = prompt.tokens
    answer.sources_dropped = prompt.dropped
    yield sources_event(answer, passages, prompt.blocks)
    failure = None
    try:
        yield from streamed_text(answer, chosen, prompt, started)
    except llm.LLMError as exc:
        failure = exc.message
    answer.text = answer.text.strip()
    with cpu_turn(answer):
        verification.resolve_citations(answer, prompt.blocks, sentence_embedder(corpora))
    if failure is not None and answer.text:
        return Outcome(Answer.Status.INCOMPLETE, failure + INCOMPLETE)
    if failure is not None:
        return Outcome(Answer.Status.UNAVAILABLE, failure + NOT_ANSWERED)
    if answer.finish_reason == "length":
        return Outcome(Answer.Status.INCOMPLETE, LENGTH_LIMIT)
    return Outcome(Answer.Status.COMPLETE)


def packed_prompt(chosen: llm.Backend, blocks: list[prompting.Block], question: str):
    """The prompt with as many passages as fit the server's budget, or None and why none can be sent."""
    try:
        prompt = prompting.pack(blocks, question, budget=chosen.prompt_budget(), count_tokens=chosen.count_tokens)
    except llm.LLMError as exc:
        return None, exc.message + NOT_ANSWERED
    if not prompt.blocks:
        return None, NO_ROOM + NOT_ANSWERED
    return prompt, ""


def streamed_text(answer: Answer, chosen: llm.Backend, prompt: prompting.Prompt, started: float) -> Iterator[Event]:
    """Yields the LLM's text as it comes, keeping answer.text current (for a reader who leaves mid-answer) and
    cutting it at ANSWER_MAX_CHARS whatever the server sends; raises llm.LLMError."""
    pieces: list[str] = []
    length = 0
    for piece in chosen.stream(prompt.system, prompt.user):
        if piece.text:
            if not pieces:
                answer.first_token_ms = elapsed_ms(started)
            text = piece.text[: ANSWER_MAX_CHARS - length]
            pieces.append(text)
            length += len(text)
            answer.text = "".join(pieces)
            yield Event("token", {"text": text})
        if piece.finish_reason:
            answer.finish_reason = piece.finish_reason
        if length >= ANSWER_MAX_CHARS:
            answer.finish_reason = "length"
            return


def sources_event(answer: Answer, passages: list[Passage], blocks: list[prompting.Block]) -> Event:
    """Stores the passages the answer draws on, numbered as its blocks, and the event that shows them."""
    save_sources(answer, passages, blocks)
    return Event("sources", payloads.sources_data(answer))


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
    return embeddings.CachedEncoder(encoders.encoder_for(model), size=SENTENCES_REMEMBERED)


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
            is_ocr=passage.chunk.is_ocr,
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
