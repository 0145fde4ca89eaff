"""The per-corpus indexes, joined to the database: PostgreSQL holds the vectors and text, the indexes are derived.

Each corpus has a FAISS vector index and a tantivy keyword index in one folder, written
together under the folder's lock.
"""

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from . import dispatch
from .keyword_index import KeywordIndex
from .models import Chunk, Corpus, Document, indexed_text
from .vector_index import Hit, IndexStore

log = logging.getLogger(__name__)

READ_BATCH = 2000


def corpus_dir(corpus_id: int) -> Path:
    return settings.INDEX_DIR / f"corpus-{corpus_id}"


def store_for(corpus: Corpus | int, generation: int | None = None) -> IndexStore:
    """The vector index the corpus searches now, or the given generation of it.

    Generation 0 lives in the corpus' folder; each re-embedding writes the next one in a subfolder."""
    corpus_id = corpus.pk if isinstance(corpus, Corpus) else corpus
    if generation is None:
        generation = corpus.vector_generation if isinstance(corpus, Corpus) else current_generation(corpus_id)
    return IndexStore(
        corpus_dir(corpus_id) / (f"vectors-{generation}" if generation else ""),
        lock_timeout=settings.INDEX_LOCK_TIMEOUT,
        ann_threshold=settings.INDEX_ANN_THRESHOLD,
        nprobe=settings.INDEX_IVF_NPROBE,
    )


def current_generation(corpus_id: int) -> int:
    return Corpus.objects.filter(pk=corpus_id).values_list("vector_generation", flat=True).first() or 0


@contextmanager
def locked_current_store(corpus_id: int, timeout: float | None = None) -> Iterator[tuple[Corpus, IndexStore]]:
    """The corpus (as it is now) and its current vector index, with the index's lock held.

    A re-embedding swaps generations while holding the old one's lock, so the generation is read
    again once the lock is ours; if it moved meanwhile, the new one is locked instead."""
    while True:
        corpus = Corpus.objects.get(pk=corpus_id)
        store = store_for(corpus)
        with store.lock(timeout):
            if current_generation(corpus_id) == corpus.vector_generation:
                yield corpus, store
                return


def keywords_for(corpus_id: int) -> KeywordIndex:
    return KeywordIndex(corpus_dir(corpus_id) / "keywords")


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def vectors_from_rows(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((pk for pk, _ in rows), dtype=np.int64, count=len(rows))
    vectors = np.vstack([np.frombuffer(bytes(blob), dtype=np.float32) for _, blob in rows])
    return ids, vectors


def vector_batches(chunks: QuerySet[Chunk], field: str = "vector") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Reads (ids, vectors) from a Chunk queryset in primary-key order, a batch at a time."""
    rows: list[tuple[int, bytes]] = []
    chunks = chunks.exclude(**{f"{field}__isnull": True}).order_by("pk").values_list("pk", field)
    for row in chunks.iterator(READ_BATCH):
        rows.append(row)
        if len(rows) == READ_BATCH:
            yield vectors_from_rows(rows)
            rows = []
    if rows:
        yield vectors_from_rows(rows)


def keyword_entries(chunks: QuerySet[Chunk]) -> Iterator[tuple[int, str]]:
    for pk, section, text in chunks.order_by("pk").values_list("pk", "section", "text").iterator(READ_BATCH):
        yield pk, indexed_text(section, text)


def ready_chunks(corpus_id: int) -> QuerySet[Chunk]:
    return Chunk.objects.filter(document__corpus_id=corpus_id, document__status=Document.Status.READY)


def add_document(document: Document, store: IndexStore) -> np.ndarray:
    """Puts a document's vectors in the corpus' vector index `store` (its current one) and its words in the
    keyword index; returns their ids."""
    batches = list(vector_batches(document.chunks.all()))
    if not batches:
        return np.zeros(0, dtype=np.int64)
    ids = np.concatenate([ids for ids, _ in batches])
    vectors = np.vstack([vectors for _, vectors in batches])
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
    try:
        with locked_current_store(corpus_id, lock_timeout) as (_, store):
            store.remove(ids, lock_timeout=lock_timeout)
            keywords_for(corpus_id).remove(ids)
    except Exception:
        # Searches skip ids whose chunks are gone, and a rebuild drops them.
        log.warning("%s ids of corpus %s left in its index for the next rebuild", len(ids), corpus_id, exc_info=True)


def delete_corpus_index(corpus_id: int) -> None:
    """Removes every index of the corpus: all vector generations and the keyword index."""
    store = store_for(corpus_id, generation=0)
    with store.lock():
        shutil.rmtree(corpus_dir(corpus_id), ignore_errors=True)


def rebuild_corpus_index(corpus: Corpus) -> int:
    """Rebuilds a corpus index from the vectors of its ready documents alone; returns the vector count."""
    chunks = ready_chunks(corpus.pk)
    with locked_current_store(corpus.pk) as (corpus, store):
        count = store.rebuild(vector_batches(chunks), model=corpus.embedding_model)
        keywords_for(corpus.pk).rebuild(keyword_entries(chunks))
    return count


def search(corpus: Corpus, question: str, query_vector: np.ndarray, candidates: int, *, use_keywords: bool):
    """The corpus' nearest passages to query_vector and, if use_keywords, its best BM25 matches for the
    question: two lists of Hits, best first. An index that is missing or cannot be read gives no hits and is
    rebuilt in a worker (the database holds every vector and text), so questions meanwhile are answered from
    the other index."""
    return dense_hits(corpus, query_vector, candidates), (
        keyword_hits(corpus, question, candidates) if use_keywords else []
    )


def dense_hits(corpus: Corpus, query_vector: np.ndarray, candidates: int) -> list[Hit]:
    store = store_for(corpus)
    try:
        if store.exists():
            return store.search(query_vector[None, :], candidates)[0]
        if not Document.objects.filter(corpus=corpus).ready().exists():
            return []  # nothing indexed yet
        log.warning("the vector index of corpus %s is missing", corpus.pk)
    except Exception:
        log.exception("the vector index of corpus %s could not be searched", corpus.pk)
    dispatch.rebuild(corpus.pk)
    return []


def keyword_hits(corpus: Corpus, question: str, candidates: int) -> list[Hit]:
    try:
        return keywords_for(corpus.pk).search(question, candidates)
    except Exception:
        log.exception("the keyword index of corpus %s could not be searched", corpus.pk)
        dispatch.rebuild(corpus.pk)
        return []


def vector_of(chunk: Chunk, model: str) -> np.ndarray | None:
    """The chunk's vector from `model`: a re-embedding that swapped in another model's vectors since the
    corpus was read keeps the old ones in next_vector for a while."""
    blob = chunk.vector
    if chunk.document.embedding_model not in ("", model) and chunk.next_vector is not None:
        blob = chunk.next_vector
    return None if blob is None else np.frombuffer(bytes(blob), dtype=np.float32)


def diagnose_corpus(corpus: Corpus) -> list[str]:
    """What is wrong with a corpus' indexes compared with the database (nothing: an empty list)."""
    expected = set(ready_chunks(corpus.pk).exclude(vector=None).values_list("pk", flat=True))
    store = store_for(corpus)
    problems = []
    if not store.exists():
        if expected:
            problems.append(f"the vector index is missing ({len(expected)} passages should be in it)")
    else:
        meta = store.meta()
        if meta.get("model") != corpus.embedding_model:
            problems.append(f"the vector index holds {meta.get('model')!r} vectors, not {corpus.embedding_model!r}")
        try:
            found = store.ids()
        except Exception as exc:
            problems.append(f"the vector index cannot be read ({exc.__class__.__name__})")
        else:
            held = set(found.tolist())
            if len(found) != len(held):
                problems.append(f"the vector index holds {len(found) - len(held)} passages twice")
            if missing := expected - held:
                problems.append(f"{len(missing)} passages are missing from the vector index")
            if extra := held - expected:
                problems.append(f"the vector index holds {len(extra)} passages that are not ready or no longer exist")
            if meta.get("count") != len(found):
                problems.append(f"the vector index's metadata counts {meta.get('count')}, the index holds {len(found)}")
    keywords = keywords_for(corpus.pk)
    try:
        keyword_count = keywords.count() if keywords.exists() else 0
    except Exception as exc:
        problems.append(f"the keyword index cannot be read ({exc.__class__.__name__})")
    else:
        if keyword_count != ready_chunks(corpus.pk).count():
            problems.append(
                f"the keyword index holds {keyword_count} passages, the database {ready_chunks(corpus.pk).count()}"
            )
    return problems
