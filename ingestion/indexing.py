"""The per-corpus FAISS indexes, joined to the database: PostgreSQL holds the vectors, the index is derived."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from . import embeddings
from .index import IndexStore
from .models import Chunk, Corpus, Document

log = logging.getLogger(__name__)

READ_BATCH = 2000


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float


def encoder_for(model_name: str) -> embeddings.Encoder:
    return embeddings.load_encoder(
        model_name,
        backend=settings.EMBEDDING_BACKEND,
        device=settings.EMBEDDING_DEVICE,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        cache_dir=settings.DATA_DIR / "models",
    )


def store_for(corpus_id: int) -> IndexStore:
    return IndexStore(settings.INDEX_DIR / f"corpus-{corpus_id}", lock_timeout=settings.INDEX_LOCK_TIMEOUT)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def vectors_from_rows(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((pk for pk, _ in rows), dtype=np.int64, count=len(rows))
    vectors = np.vstack([np.frombuffer(bytes(blob), dtype=np.float32) for _, blob in rows])
    return ids, vectors


def vector_batches(chunks: QuerySet[Chunk]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Reads (ids, vectors) from a Chunk queryset in primary-key order, a batch at a time."""
    rows: list[tuple[int, bytes]] = []
    for row in chunks.exclude(vector=None).order_by("pk").values_list("pk", "vector").iterator(READ_BATCH):
        rows.append(row)
        if len(rows) == READ_BATCH:
            yield vectors_from_rows(rows)
            rows = []
    if rows:
        yield vectors_from_rows(rows)


def add_document(document: Document) -> np.ndarray:
    """Puts a document's vectors in its corpus index and returns their ids."""
    batches = list(vector_batches(document.chunks.all()))
    if not batches:
        return np.zeros(0, dtype=np.int64)
    ids = np.concatenate([ids for ids, _ in batches])
    vectors = np.vstack([vectors for _, vectors in batches])
    store_for(document.corpus_id).add(ids, vectors, model=document.embedding_model)
    return ids


def remove_chunk_ids(corpus_id: int, ids: list[int], *, lock_timeout: float) -> None:
    """Removes ids from a corpus index if it can within lock_timeout; otherwise leaves them, harmlessly."""
    try:
        store_for(corpus_id).remove(ids, lock_timeout=lock_timeout)
    except Exception:
        # Searches skip ids whose chunks are gone, and a rebuild drops them.
        log.warning("%s ids of corpus %s left in its index for the next rebuild", len(ids), corpus_id, exc_info=True)


def delete_corpus_index(corpus_id: int) -> None:
    store_for(corpus_id).delete()


def rebuild_corpus_index(corpus: Corpus) -> int:
    """Rebuilds a corpus index from the vectors of its ready documents alone; returns the vector count."""
    chunks = Chunk.objects.filter(document__corpus=corpus, document__status=Document.Status.READY)
    return store_for(corpus.pk).rebuild(vector_batches(chunks), model=corpus.embedding_model)


def search_corpus(corpus: Corpus, query: str, *, k: int = 8) -> list[SearchHit]:
    """The k chunks of a corpus closest in meaning to the query, best first."""
    query_vector = encoder_for(corpus.embedding_model).encode([query])
    hits = store_for(corpus.pk).search(query_vector, k)[0]
    chunks = Chunk.objects.select_related("document").in_bulk([hit.id for hit in hits])
    # An id whose chunk is gone (deleted since the index was written) is skipped.
    return [SearchHit(chunk=chunks[hit.id], score=hit.score) for hit in hits if hit.id in chunks]
