"""Ingestion of one document: extract, chunk, embed, index, with progress written to its row."""

import functools
import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import corpus_index, encoders, extract, filetypes, ocr, page_cleaning, sandbox, sections
from .chunking import Chunker, TextChunk
from .embeddings import Encoder, EncoderUnavailable
from .extract import ExtractionError, FinalExtractionError, PasswordNeeded
from .models import Chunk, Corpus, Document
from .page_notes import page_warning
from .vector_index import IndexBusy, IndexStore

log = logging.getLogger(__name__)

Status = Document.Status

FILE_MISSING = "The uploaded file is missing from the server's storage. Delete this document and upload it again."
GENERIC_FAILURE = (
    "Something went wrong while processing this file. Try again; if it fails again, the file may be damaged."
)
NO_TEXT = {
    filetypes.PDF: (
        "No text could be found in this PDF, in its text or in its pictures (OCR). Handwriting and very faint "
        "print cannot be read; a clearer scan may be."
    ),
    filetypes.IMAGE: "No text could be found in this picture. A sharper, larger or straighter scan may be read.",
    filetypes.HTML: "This web page has no visible text.",
}
NO_TEXT_OTHER = "This file contains no text."
SAME_TEXT = "“{title}” in this corpus has the same text; this file was not added again."
INDEX_BUSY = (
    "The search index of this corpus stayed busy for too long (a rebuild may be running). Retry in a few minutes."
)
NO_MODEL = (
    "The server could not load its embedding model, so this file could not be processed. "
    "An administrator has to fix the server; then retry."
)
ALL_PAGES_UNREADABLE = "None of the pages of this file could be read; it may be damaged."
TIME_LIMIT = "Processing took longer than the {limit} limit for one document and was stopped."
GAVE_UP = "Processing stopped unexpectedly {attempts} times, so we gave up. The file may be too large or damaged."


LOCK_POLL_SECONDS = 10
# Each read opens the PDF afresh (0.14 s for 1,000 pages), which also keeps pypdf's cache of parsed objects
# from growing with the document.
PAGES_PER_READ = 200
OCR_SANDBOX = "ocr"


class DocumentGone(Exception):
    """The document was deleted, or another worker took it over, while we worked on it."""


class OutOfTime(Exception):
    """The document took longer than the time limit."""


def check_time(deadline: float) -> None:
    # Checked between pages and between groups of chunks; Celery's hard limit
    # kills the process if a single step hangs.
    if time.monotonic() > deadline:
        raise OutOfTime


def ingest_document(document_id: int, *, task_id: str = "") -> None:
    """Runs the whole pipeline for one document; safe to call twice for the same id."""
    document = claim(document_id, task_id=task_id)
    if document is None:
        return
    try:
        run_pipeline(document)
    except DocumentGone:
        log.info("document %s was deleted or taken over while processing; stopped", document_id)
    except ExtractionError as exc:
        fail(document, str(exc), is_final=isinstance(exc, FinalExtractionError),
             needs_password=isinstance(exc, PasswordNeeded))  # fmt: skip
    except OutOfTime:
        fail(document, time_limit_message())
    except EncoderUnavailable:
        log.exception("document %s: no embedding model", document_id)
        fail(document, NO_MODEL)
    except IndexBusy:
        fail(document, INDEX_BUSY)
    except Exception:
        log.exception("document %s failed", document_id)
        fail(document, GENERIC_FAILURE)
    finally:
        if document.ocr_pages_total:
            sandbox.stop(OCR_SANDBOX)  # its models hold half a gigabyte; the next scan loads them again


def claim(document_id: int, *, task_id: str = "") -> Document | None:
    """Takes a queued document, or one whose worker stopped reporting; None if there is nothing to do.

    Every write of this attempt is conditional on the claim token, so a worker that was taken
    over (or whose document was deleted) stops at its next write instead of mixing its work in.
    """
    now = timezone.now()
    stalled = Q(status__in=[Status.PARSING, Status.EMBEDDING], heartbeat_at__lt=stale_before(now))
    token = f"{task_id or 'direct'}:{uuid.uuid4().hex[:12]}"
    claimed = (
        Document.objects.filter(Q(status=Status.QUEUED) | stalled, pk=document_id)
        .update(status=Status.PARSING, attempts=F("attempts") + 1, claim_token=token, started_at=now,
                heartbeat_at=now, finished_at=None, error="", warning="", pages_done=0, chunks_done=0,
                chunks_total=0, ocr_pages_total=0, ocr_pages_done=0)
    )  # fmt: skip
    if not claimed:
        return None  # already done, or another worker has it
    document = Document.objects.select_related("corpus").get(pk=document_id)
    if document.attempts > settings.INGEST_MAX_ATTEMPTS:
        fail(document, GAVE_UP.format(attempts=document.attempts - 1))
        return None
    return document


def time_limit_message() -> str:
    limit = settings.INGEST_TIME_LIMIT
    return TIME_LIMIT.format(limit=f"{round(limit / 60)}-minute" if limit >= 120 else f"{limit}-second")


def stale_before(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.INGEST_STALE_AFTER)


def run_pipeline(document: Document) -> None:
    encoder = encoders.encoder_for(document.corpus.embedding_model)
    path = document.readable_path
    if not path.exists():
        raise ExtractionError(FILE_MISSING)
    if document.file_type not in filetypes.EXTENSIONS:
        raise FinalExtractionError(filetypes.detect_file_type(path, document.original_name).problem)

    started = time.monotonic()
    deadline = started + settings.INGEST_TIME_LIMIT
    discard_chunks(document)  # from an earlier attempt, if any
    metadata = extract_isolated(document, extract.read_metadata, path, document.file_type, deadline=deadline)
    update(document, pages_total=metadata.page_count, embedding_model=encoder.name)
    # Only where still blank: someone may have edited them since the claim.
    Document.objects.filter(pk=document.pk, title="").update(title=metadata.title)
    Document.objects.filter(pk=document.pk, document_date=None).update(document_date=metadata.date)
    warning, text_sha256 = split_into_chunks(document, path, make_chunker(encoder), deadline)
    refuse_same_text(document, text_sha256)
    update(document, status=Status.EMBEDDING, parse_seconds=time.monotonic() - started, warning=warning)

    started = time.monotonic()
    embed_chunks(document, encoder, deadline)
    update(document, embed_seconds=time.monotonic() - started)

    add_to_index(document, encoder, deadline)
    log.info("ready: %s pages, %s passages, %.1f s in all", document.pages_done, document.chunks_total,
             time.monotonic() - deadline + settings.INGEST_TIME_LIMIT)  # fmt: skip


def add_to_index(document: Document, encoder: Encoder, deadline: float) -> None:
    """Adds the document to its corpus' current index and marks it ready, under the index's lock."""
    started = time.monotonic()
    while True:
        corpus = Corpus.objects.filter(pk=document.corpus_id).first()
        if corpus is None:
            raise DocumentGone(document.pk)
        if corpus.embedding_model != encoder.name:
            # The corpus was re-embedded with another model while this document was embedded: again, with it.
            encoder = encoders.encoder_for(corpus.embedding_model)
            update(document, embedding_model=encoder.name, chunks_done=0)
            embed_chunks(document, encoder, deadline)
        store = corpus_index.store_for(corpus)
        # The lock spans the status change too, so a rebuild never misses a document that became ready.
        with index_lock(store, document):
            if corpus_index.current_generation(corpus.pk) != corpus.vector_generation:
                continue  # a re-embedding swapped in its index while we waited for the lock
            ids = corpus_index.add_document(document, store)
            try:
                update(document, status=Status.READY, finished_at=timezone.now(),
                       index_seconds=time.monotonic() - started)  # fmt: skip
            except DocumentGone:
                corpus_index.remove_chunk_ids(document.corpus_id, ids.tolist(), lock_timeout=LOCK_POLL_SECONDS)
                raise
            return


@contextmanager
def index_lock(store: IndexStore, document: Document) -> Iterator[None]:
    """Waits for the corpus index lock, reporting progress meanwhile so no one takes the document over."""
    waited = 0.0
    while True:
        try:
            with store.lock(timeout=LOCK_POLL_SECONDS):
                yield
            return
        except IndexBusy:
            waited += LOCK_POLL_SECONDS
            if waited >= settings.INDEX_LOCK_TIMEOUT:
                raise
            update(document)


def make_chunker(encoder: Encoder) -> Chunker:
    max_tokens = min(settings.CHUNK_TOKENS, encoder.max_tokens)
    overlap_tokens = min(settings.CHUNK_OVERLAP_TOKENS, max_tokens // 2)
    return chunker_for(encoder, max_tokens, overlap_tokens, settings.CHUNK_MAX_CHARS)


@functools.cache
def chunker_for(encoder: Encoder, max_tokens: int, overlap_tokens: int, max_chars: int) -> Chunker:
    # Built once per process: it copies the tokenizer and sets up two splitters.
    return Chunker(encoder.tokenizer, max_tokens=max_tokens, overlap_tokens=overlap_tokens, max_chars=max_chars)


def refuse_same_text(document: Document, text_sha256: str) -> None:
    """Records the text's digest, unless another document of the corpus already has the same text."""
    same = (
        Document.objects.filter(corpus_id=document.corpus_id, text_sha256=text_sha256)
        .exclude(pk=document.pk)
        .exclude(status=Status.FAILED)
        .first()
    )
    if same is not None:
        # Not for good: once the other is deleted, Retry brings this one in.
        raise ExtractionError(SAME_TEXT.format(title=same.display_title))
    update(document, text_sha256=text_sha256)


def split_into_chunks(document: Document, path: Path, chunker: Chunker, deadline: float) -> tuple[str, str]:
    """Extracts and chunks page by page, saving chunks a batch of pages at a time; returns a warning and the
    digest of the text's words (extract.text_digest)."""
    digest = extract.TextDigest()
    pending: list[Chunk] = []
    empty_pages: list[int] = []
    unreadable_pages: list[int] = []
    ordinal = pages_done = 0
    # A page's running heads, footers and page numbers go, and its hyphen-broken words are joined (scans read
    # by OCR included); Markdown and reStructuredText arrive as plain text already (markup.py).
    has_pages = document.file_type in (filetypes.PDF, filetypes.IMAGE)
    for page, recurring in iter_pages_isolated(path, document, deadline):
        check_time(deadline)
        if page.needs_ocr:
            page = read_by_ocr(document, path, page, deadline)
        pages_done += 1
        cleaned = page_cleaning.clean(page.text, recurring) if has_pages else page_cleaning.as_is(page.text)
        if page.is_unreadable:
            unreadable_pages.append(page.number or pages_done)
        elif not any(ch.isalnum() for ch in cleaned.text):
            empty_pages.append(page.number or pages_done)
        digest.add(cleaned.text)
        for section, piece in split_sections(chunker, cleaned.text, page.headings):
            # Offsets into the page's own text, where an OCR'd page's line boxes are.
            start, end = cleaned.original(piece.start), cleaned.original(max(piece.end - 1, piece.start)) + 1
            pending.append(
                Chunk(document=document, ordinal=ordinal, text=piece.text, page=page.number, section=section,
                      char_start=start, char_end=end, token_count=piece.token_count,
                      is_ocr=page.is_ocr, regions=ocr.regions(page.boxes, start, end))
            )  # fmt: skip
            ordinal += 1
        if page.is_ocr or pages_done % settings.INGEST_PAGE_BATCH == 0:
            update(document, new_chunks=pending, pages_done=pages_done, chunks_total=ordinal)
            pending = []
    update(document, new_chunks=pending, pages_done=pages_done, chunks_total=ordinal)

    if ordinal == 0:
        if unreadable_pages and len(unreadable_pages) == pages_done:
            raise ExtractionError(ALL_PAGES_UNREADABLE)
        raise ExtractionError(NO_TEXT.get(document.file_type, NO_TEXT_OTHER))
    return page_warning(pages_done, empty_pages, unreadable_pages), digest.hexdigest()


def split_sections(chunker: Chunker, text: str, headings) -> Iterator[tuple[str, TextChunk]]:
    """text's passages, each with its section path: cut from one section's body at a time, so that no
    passage is only a heading or straddles two sections (offsets into text)."""
    for section in sections.split(text, headings):
        for piece in chunker.split(text[section.start : section.end]):
            yield section.path, replace(piece, start=piece.start + section.start, end=piece.end + section.start)


def extract_isolated(document: Document, function, *args, deadline: float):  # -> what function returns
    """Runs one of extract's functions in the sandbox process, within the document's time and memory,
    reporting progress while it runs (a long call must not look like a dead worker)."""
    try:
        return sandbox.run(
            function,
            *args,
            max_unpacked=settings.PARSE_MAX_UNPACKED_MB * 1024**2,
            memory_limit=settings.PARSE_MEMORY_MB * 1024**2,
            deadline=deadline,
            on_wait=lambda: update(document),
        )
    except sandbox.TimedOut as exc:
        raise OutOfTime from exc


def iter_pages_isolated(
    path: Path, document: Document, deadline: float
) -> Iterator[tuple[extract.Page, frozenset[str]]]:
    """The document's pages, read in the sandbox PAGES_PER_READ at a time (pages_total is known by now), each
    with the lines that recur at the edges of its stretch's pages (page_cleaning.furniture: found among the
    pages with a text layer). The count of pages to read by OCR grows as each stretch is read."""
    step = PAGES_PER_READ
    for start in range(0, max(document.pages_total, 1), step):
        pages = extract_isolated(document, extract.read_pages, path, document.file_type, start, start + step,
                                 deadline=deadline)  # fmt: skip
        scanned = sum(page.needs_ocr for page in pages)
        if scanned:
            update(document, ocr_pages_total=document.ocr_pages_total + scanned)
        recurring = page_cleaning.furniture([page.text for page in pages if not page.needs_ocr])
        for page in pages:
            yield page, recurring


def read_by_ocr(document: Document, path: Path, page: extract.Page, deadline: float) -> extract.Page:
    """The page read from its image, in the OCR sandbox, within the document's time; a page that cannot be
    drawn or read is counted as unreadable, and the rest of the document goes on."""
    try:
        read = sandbox.run(
            ocr.read_page,
            path,
            document.file_type,
            page.number,
            name=OCR_SANDBOX,
            memory_limit=settings.OCR_MEMORY_MB * 1024**2,
            deadline=deadline,
            on_wait=lambda: update(document),
        )
    except sandbox.TimedOut as exc:
        raise OutOfTime from exc
    except ExtractionError as exc:
        log.warning("document %s: page %s could not be read by OCR: %s", document.pk, page.number, exc)
        read = extract.Page(number=page.number, text="", is_unreadable=True)
    update(document, ocr_pages_done=document.ocr_pages_done + 1)
    return ocr.better_reading(page, read)


def embed_chunks(document: Document, encoder: Encoder, deadline: float) -> None:
    """Embeds the chunks a group at a time, storing vectors and progress as it goes."""
    # Groups of passages of about the same length waste little on padding, and a few batches
    # per call keep the fixed cost of each call small. The groups go in shuffled order so that
    # the rate so far, and the time left shown from it, holds for the rest.
    order = list(document.chunks.order_by("token_count", "ordinal").values_list("pk", flat=True))
    size = encoder.batch_size * 8
    groups = [order[start : start + size] for start in range(0, len(order), size)]
    random.Random(document.pk).shuffle(groups)
    done = 0
    for group in groups:
        check_time(deadline)
        chunks = list(Chunk.objects.filter(pk__in=group).only("pk", "section", "text"))
        vectors = encoder.encode([chunk.indexed_text for chunk in chunks])
        for chunk, vector in zip(chunks, vectors, strict=True):
            chunk.vector = corpus_index.vector_to_bytes(vector)
        Chunk.objects.bulk_update(chunks, ["vector"])
        done += len(chunks)
        update(document, chunks_done=done)


def update(document: Document, *, new_chunks: list[Chunk] | None = None, **fields) -> None:
    """Writes fields, a heartbeat and new chunks, unless the row is gone or no longer ours."""
    fields["heartbeat_at"] = timezone.now()
    with transaction.atomic():
        # The row stays locked until commit, so a takeover waits for these chunks and then discards them.
        if not Document.objects.filter(pk=document.pk, claim_token=document.claim_token).update(**fields):
            raise DocumentGone(document.pk)
        if new_chunks:
            Chunk.objects.bulk_create(new_chunks)
    for name, value in fields.items():
        setattr(document, name, value)


def fail(document: Document, message: str, *, is_final: bool = False, needs_password: bool = False) -> None:
    log.info("document %s failed: %s", document.pk, message)
    owned = Document.objects.filter(pk=document.pk, claim_token=document.claim_token)
    mark_failed(owned, document, message, is_final=is_final, needs_password=needs_password)


def mark_failed(
    owned, document: Document, message: str, *, is_final: bool = False, needs_password: bool = False
) -> bool:
    """Marks the document failed, if `owned` (a filter on its claim) still finds it, and removes its
    chunks in the same transaction: nobody sees it failed with half its passages still there. is_final:
    trying again cannot help, so no Retry is offered."""
    with transaction.atomic():
        updated = owned.update(
            status=Status.FAILED,
            error=message,
            error_is_final=is_final,
            needs_password=needs_password,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        ids = list(Chunk.objects.filter(document_id=document.pk).values_list("pk", flat=True)) if updated else []
        Chunk.objects.filter(pk__in=ids).delete()
    if ids:
        # Nothing half-done stays behind in the index either (a failed document's passages are normally
        # never added to it).
        corpus_index.remove_chunk_ids(document.corpus_id, ids, lock_timeout=LOCK_POLL_SECONDS)
    return bool(updated)


def discard_chunks(document: Document) -> None:
    """Removes a document's chunks from the database and, if its lock comes soon, from the index."""
    ids = list(document.chunks.values_list("pk", flat=True))
    if ids:
        corpus_index.remove_chunk_ids(document.corpus_id, ids, lock_timeout=LOCK_POLL_SECONDS)
        document.chunks.all().delete()
