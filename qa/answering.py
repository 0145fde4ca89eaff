"""The ways an answer is made once its passages are found: quoted from them (no LLM configured), written by
the LLM from those that fit its prompt, or a document's summary; each yields its events (the sources first,
then any text) and returns its Outcome. services.py decides which, and finishes the answer."""

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.urls import reverse

from ingestion import embeddings, encoders
from ingestion.models import Corpus, Document

from . import admission, citations, conversations, extractive, llm, payloads, prompting, summarizing, verification
from .models import Answer, Source, Summary
from .retrieval import Passage

# 20,000 sentences of a 384-d model: 30 MB per web process.
SENTENCES_REMEMBERED = 20_000
# An answer is cut here even if the LLM server ignores its token limit (LLM_MAX_NEW_TOKENS is far less).
ANSWER_MAX_CHARS = 20_000
NO_ROOM = "The passages found are longer than the answer service accepts, so it was not asked."
NO_SENTENCE = "No sentence of the passages below answers this question well enough to quote it."
NOT_ANSWERED = " The passages that were found are shown below."
INCOMPLETE = " The answer above is incomplete."
LENGTH_LIMIT = "The answer reached its length limit and was cut short."


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
                section=passage.chunk.section,
                date=date.isoformat(),
                url=passage_url(passage, base_url),
                # Passages cut before CHUNK_MAX_CHARS existed can be megabytes long.
                text=passage.chunk.text[: settings.CHUNK_MAX_CHARS],
            )
        )
    return blocks


@dataclass
class Event:
    kind: str  # "searched", "sources", "token" or "done"
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a way of answering ended: the answer's status and the message shown with it."""

    status: str
    message: str = ""


def extracted(
    answer: Answer, passages: list[Passage], blocks: list[prompting.Block], corpora, started: float, *, from_head: bool
):
    """The answer as the passages' sentence that best answers the question (no LLM configured); for a
    question about the document a conversation is about (from_head), the first lines of its head passage."""
    answer.model = corpora[0].embedding_model
    yield sources_event(answer, passages, blocks)
    embed = sentence_embedder(corpora)
    with cpu_turn(answer):
        if from_head:
            text = extractive.quote_head(blocks[0].source, blocks[0].text)
        else:
            text, _ = extractive.extract_answer(answer.searched_for, [(b.source, b.text) for b in blocks], embed)
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
    prompt, refusal = packed_prompt(chosen, blocks, answer.searched_for, conversations.previous_answer_block(answer))
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


def packed_prompt(chosen: llm.Backend, blocks: list[prompting.Block], question: str, context: str = ""):
    """The prompt with as many passages as fit the server's budget, or None and why none can be sent."""
    try:
        prompt = prompting.pack(
            blocks, question, budget=chosen.prompt_budget(), count_tokens=chosen.count_tokens, context=context
        )
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


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def sentence_embedder(corpora: list[Corpus]) -> citations.Embed:
    """Embeds sentences for verification and extraction with the (first) corpus' own model, remembering
    the sentences of passages that were found before."""
    return cached_encoder(corpora[0].embedding_model).encode


@functools.cache
def cached_encoder(model: str) -> embeddings.CachedEncoder:
    return embeddings.CachedEncoder(encoders.encoder_for(model), size=SENTENCES_REMEMBERED)


def save_sources(answer: Answer, passages: list[Passage], blocks: list[prompting.Block]) -> None:
    Source.objects.bulk_create(
        Source(
            answer=answer,
            number=block.source,
            chunk=passage.chunk,
            document=passage.chunk.document,
            title=block.title,
            page=passage.chunk.page,
            section=block.section,
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


def summarized(answer: Answer, document: Document, base_url: str):
    """The answer to "summarize <document>": its summary, with the sections it cites as the sources (asked for
    now if it has none); while it is being made, where to watch it come in."""
    title = document.display_title
    try:
        summary = summarizing.request_summary(document, user=answer.asked_by)
    except summarizing.SummaryRefused as exc:
        yield sources_event(answer, [], [])
        return Outcome(Answer.Status.NO_PASSAGES, f"“{title}”: {exc}")
    if summary.status != Summary.Status.READY:
        yield sources_event(answer, [], [])
        url = base_url.rstrip("/") + reverse("qa:summary", args=[document.pk])
        state = "could not be made: " + summary.message if summary.status == Summary.Status.FAILED else "is being made"
        answer.text = f"The summary of “{title}” {state} Open {url} to follow it, or ask again in a while."
        yield Event("token", {"text": answer.text})
        return Outcome(Answer.Status.COMPLETE)
    parts = list(summary.parts.filter(level=summary.cited_level, first_chunk__isnull=False).select_related(
        "first_chunk__document"
    ))  # fmt: skip
    passages = [Passage(chunk=p.first_chunk, score=0.0, dense_rank=None, keyword_rank=None) for p in parts]
    blocks = [replace(block, source=part.ordinal, text=part.text)
              for part, block in zip(parts, make_blocks(passages, base_url), strict=True)]  # fmt: skip
    answer.model = summary.model
    yield sources_event(answer, passages, blocks)
    answer.text = f"Summary of “{title}”{' (extracted)' if summary.is_extracted else ''}: {summary.text}"
    with cpu_turn(answer):
        verification.resolve_citations(answer, blocks, sentence_embedder([document.corpus]))
    yield Event("token", {"text": answer.text})
    return Outcome(Answer.Status.COMPLETE)
