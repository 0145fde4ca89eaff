"""Summaries of documents joined to the models: asked for from a page or the API (one summary per document
text, model, prompt version and length, reused), and made in a worker a section at a time, by the LLM
(summaries.py's map-reduce) or, without one, by extraction."""

import logging
import time
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ingestion import dispatch, encoders
from ingestion.models import Chunk, Document

from . import backends, llm, summaries
from .models import Summary, SummaryPart
from .prompting import estimate_tokens

log = logging.getLogger(__name__)

EXTRACTED_MODEL = "extracted"
# A summary whose worker has not written for this long is taken as lost, and is made again when asked for.
STALE_AFTER = timedelta(minutes=10)
# The documents a summary request is matched against, at most (a corpus' names are short).
MATCHED_DOCUMENTS = 20_000
NOT_READY = "This document is still being read; it can be summarized once it is ready."
NO_TEXT = "This document has no text to summarize."
UNEXPECTED = "Something went wrong while summarizing this document. Try again in a moment."


class SummaryRefused(Exception):
    """The document cannot be summarized now; the message is meant for the user."""


def requested_document(question: str, corpora: list) -> Document | None:
    """The document of the corpora that a question asks to summarize ("Summarize the TGI streaming
    document"), matched by its title and file name; None when it asks for no summary or names none."""
    name = summaries.requested_name(question)
    if not name:
        return None
    rows = Document.objects.filter(corpus__in=corpora, status=Document.Status.READY).values_list(
        "pk", "title", "original_name"
    )
    titles = {pk: [title or "", original_name] for pk, title, original_name in rows[:MATCHED_DOCUMENTS]}
    pk = summaries.best_match(name, titles)
    return Document.objects.select_related("corpus").get(pk=pk) if pk else None


def current_key(document: Document) -> dict:
    """What a summary of this document made now is stored under: its text, the model, the prompt, the length."""
    chosen = backends.backend()
    return {
        "document": document,
        "text_sha256": document.text_sha256,
        "model": chosen.model_id() if chosen else EXTRACTED_MODEL,
        "prompt_version": summaries.PROMPT_VERSION,
        "target_words": settings.SUMMARY_WORDS,
    }


def current_summary(document: Document) -> Summary | None:
    return Summary.objects.filter(**current_key(document)).first()


def request_summary(document: Document, *, user=None) -> Summary:
    """The document's summary for the current model: the stored one, or one queued now (again if it failed or
    was lost). Two requests at once get the same one, made once; raises SummaryRefused."""
    if document.status != Document.Status.READY:
        raise SummaryRefused(NOT_READY if document.is_active else NO_TEXT)
    if not document.chunks.exists():
        raise SummaryRefused(NO_TEXT)
    key = current_key(document)
    try:
        with transaction.atomic():
            summary, created = Summary.objects.get_or_create(
                **key, defaults={"is_extracted": key["model"] == EXTRACTED_MODEL, "requested_by": user}
            )
    except IntegrityError:  # made by a request at the same moment
        summary, created = Summary.objects.get(**key), False
    if created or summary.status == Summary.Status.FAILED or is_lost(summary):
        # Claimed by a conditional update: of two requests, one sends the task.
        restarted = Summary.objects.filter(pk=summary.pk, status=summary.status, updated_at=summary.updated_at).update(
            status=Summary.Status.QUEUED, message="", updated_at=timezone.now()
        )
        if (created or restarted) and not dispatch.summarize(summary.pk):
            Summary.objects.filter(pk=summary.pk).update(status=Summary.Status.FAILED, message=dispatch.QUEUE_DOWN)
        summary.refresh_from_db()
    return summary


def is_lost(summary: Summary) -> bool:
    """Queued or running, but not written to for STALE_AFTER: its worker died, or its message was lost."""
    return summary.status in (Summary.Status.QUEUED, Summary.Status.RUNNING) and (
        summary.updated_at < timezone.now() - STALE_AFTER
    )


def make_summary(summary_id: int) -> None:
    """The worker's side: makes a queued summary, writing each section as it is done; failures end it
    failed, with a message."""
    claimed = Summary.objects.filter(pk=summary_id, status=Summary.Status.QUEUED).update(
        status=Summary.Status.RUNNING, sections_done=0
    )
    if not claimed:
        return  # made already, or another worker has it
    summary = Summary.objects.select_related("document__corpus").get(pk=summary_id)
    summary.parts.all().delete()  # of an attempt that was lost
    started = time.perf_counter()
    try:
        if summary.is_extracted:
            make_extracted(summary)
        else:
            make_generated(summary, backends.backend())
    except llm.LLMError as exc:
        finish(summary, started, status=Summary.Status.FAILED, message=exc.message)
    except Exception:
        log.exception("summary %s failed", summary_id)
        finish(summary, started, status=Summary.Status.FAILED, message=UNEXPECTED)
    else:
        finish(summary, started, status=Summary.Status.READY)


def finish(summary: Summary, started: float, *, status: str, message: str = "") -> None:
    Summary.objects.filter(pk=summary.pk).update(
        status=status,
        message=message,
        text=summary.text,
        cited_level=summary.cited_level,
        finished_at=timezone.now(),
        seconds=time.perf_counter() - started,
    )


def make_generated(summary: Summary, chosen: llm.Backend | None) -> None:
    if chosen is None:
        raise llm.LLMError("No language model is set up to write summaries.", permanent=True)
    words = summary.target_words
    chunks = list(summary.document.chunks.order_by("ordinal").only("pk", "text", "page"))
    budget = max(chosen.prompt_budget() - summaries.PROMPT_OVERHEAD_TOKENS, 256)
    sections = summaries.group([estimate_tokens(c.text) for c in chunks], budget)
    set_progress(summary, total=len(sections) + (len(sections) > 1))
    parts = []
    for ordinal, (first, last) in enumerate(sections, start=1):
        text = "\n\n".join(c.text for c in chunks[first : last + 1])
        reply = summaries.clean_reply(complete(chosen, *summaries.map_prompt(text, words), words))
        parts.append(save_part(summary, 0, ordinal, reply, chunks[first], chunks[first].page, chunks[last].page))
        step(summary)
    level = 0
    while len(parts) > 1:
        groups = summaries.group([estimate_tokens(p.text) + 20 for p in parts], budget)
        if len(groups) == 1:
            break
        set_progress(summary, total=summary.sections_total + len(groups))
        combined = []
        for ordinal, (first, last) in enumerate(groups, start=1):
            reply = complete(chosen, *summaries.reduce_prompt([p.text for p in parts[first : last + 1]], words), words)
            text = summaries.MARKER.sub("", summaries.clean_reply(reply)).strip()
            combined.append(save_part(summary, level + 1, ordinal, text, parts[first].first_chunk,
                                      parts[first].first_page, parts[last].last_page))  # fmt: skip
            step(summary)
        parts, level = combined, level + 1
    texts = [p.text for p in parts]
    final = texts[0] if len(parts) == 1 else summaries.clean_reply(
        complete(chosen, *summaries.reduce_prompt(texts, words), words)
    )  # fmt: skip
    if len(parts) > 1:
        step(summary)
    summary.text = summaries.cite_sentences(final, texts, embedder(summary))
    summary.cited_level = level


def complete(chosen: llm.Backend, system: str, user: str, words: int) -> str:
    # Room for the words asked for, at about 1.5 tokens a word and some to spare, within the server's limit.
    return chosen.complete(system, user, max_new_tokens=min(settings.LLM_MAX_NEW_TOKENS, words * 2 + 64))


def make_extracted(summary: Summary) -> None:
    chunks = list(summary.document.chunks.order_by("ordinal").only("pk", "text", "page", "vector"))
    rows = [(c, np.frombuffer(c.vector, dtype=np.float32)) for c in chunks if c.vector]
    if not rows:
        raise llm.LLMError(NO_TEXT, permanent=True)
    set_progress(summary, total=1)
    vectors = np.vstack([vector for _, vector in rows])
    count = max(1, round(summary.target_words / 20))
    picked = summaries.extractive([c.text for c, _ in rows], vectors, embedder(summary), count=count)
    sentences = []
    for ordinal, (index, sentence) in enumerate(picked, start=1):
        chunk = rows[index][0]
        save_part(summary, 0, ordinal, sentence, chunk, chunk.page, chunk.page)
        sentences.append(f"{sentence} [{ordinal}]")
    step(summary)
    summary.text = " ".join(sentences)
    summary.cited_level = 0


def save_part(summary, level, ordinal, text, chunk: Chunk | None, first_page, last_page) -> SummaryPart:
    return SummaryPart.objects.create(summary=summary, level=level, ordinal=ordinal, text=text, first_chunk=chunk,
                                      first_page=first_page, last_page=last_page)  # fmt: skip


def set_progress(summary: Summary, *, total: int) -> None:
    summary.sections_total = total
    Summary.objects.filter(pk=summary.pk).update(sections_total=total)


def step(summary: Summary) -> None:
    Summary.objects.filter(pk=summary.pk).update(sections_done=F("sections_done") + 1, updated_at=timezone.now())


def embedder(summary: Summary):
    return encoders.encoder_for(summary.document.corpus.embedding_model).encode
