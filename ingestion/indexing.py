"""The per-corpus indexes, joined to the database: PostgreSQL holds the vectors and text, the indexes are derived.

Each corpus has a FAISS vector index and a tantivy keyword index in one folder, written
together under the folder's lock.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from . import embeddings
from .index import IndexStore
from .keywords import KeywordIndex
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
    return IndexStore(
        settings.INDEX_DIR / f"corpus-{corpus_id}",
        lock_timeout=settings.INDEX_LOCK_TIMEOUT,
        ann_threshold=settings.INDEX_ANN_THRESHOLD,
        nprobe=settings.INDEX_IVF_NPROBE,
    )


def keywords_for(corpus_id: int) -> KeywordIndex:
    return KeywordIndex(settings.INDEX_DIR / f"corpus-{corpus_id}" / "keywords")


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


def keyword_entries(chunks: QuerySet[Chunk]) -> Iterator[tuple[int, str]]:
    yield from chunks.order_by("pk").values_list("pk", "text").iterator(READ_BATCH)


def ready_chunks(corpus_id: int) -> QuerySet[Chunk]:
    return Chunk.objects.filter(document__corpus_id=corpus_id, document__status=Document.Status.READY)


def add_document(document: Document) -> np.ndarray:
    """Puts a document's vectors and words in its corpus indexes and returns their ids."""
    batches = list(vector_batches(document.chunks.all()))
    if not batches:
        return np.zeros(0, dtype=np.int64)
    ids = np.concatenate([ids for ids, _ in batches])
    vectors = np.vstack([vectors for _, vectors in batches])
    store = store_for(document.corpus_id)
    keywords = keywords_for(document.corpus_id)
    with store.lock():
        store.add(ids, vectors, model=document.embedding_model)
        if keywords.exists() or not ready_chunks(document.corpus_id).exists():
            keywords.add(keyword_entries(document.chunks.all()))
        else:
            # A corpus indexed before keyword search existed gets its whole keyword index at once.
            keywords.rebuild(keyword_entries(ready_chunks(document.corpus_id) | document.chunks.all()))
    return ids


def remove_chunk_ids(corpus_id: int, ids: list[int], *, lock_timeout: float) -> None:
    """Removes ids from a corpus' indexes if it can within lock_timeout; otherwise leaves them, harmlessly."""
    store = store_for(corpus_id)
    try:
        with store.lock(lock_timeout):
            store.remove(ids, lock_timeout=lock_timeout)
            keywords_for(corpus_id).remove(ids)
    except Exception:
        # Searches skip ids whose chunks are gone, and a rebuild drops them.
        log.warning("%s ids of corpus %s left in its index for the next rebuild", len(ids), corpus_id, exc_info=True)


def delete_corpus_index(corpus_id: int) -> None:
    store_for(corpus_id).delete()


def rebuild_corpus_index(corpus: Corpus) -> int:
    """Rebuilds a corpus index from the vectors of its ready documents alone; returns the vector count."""
    chunks = ready_chunks(corpus.pk)
    store = store_for(corpus.pk)
    with store.lock():
        count = store.rebuild(vector_batches(chunks), model=corpus.embedding_model)
        keywords_for(corpus.pk).rebuild(keyword_entries(chunks))
    return count


def search_corpus(corpus: Corpus, query: str, *, k: int = 8) -> list[SearchHit]:
    """The k chunks of a corpus closest in meaning to the query, best first."""
    query_vector = encoder_for(corpus.embedding_model).encode([query])
    hits = store_for(corpus.pk).search(query_vector, k)[0]
    chunks = Chunk.objects.select_related("document").in_bulk([hit.id for hit in hits])
    # An id whose chunk is gone (deleted since the index was written) is skipped.
    return [SearchHit(chunk=chunks[hit.id], score=hit.score) for hit in hits if hit.id in chunks]
