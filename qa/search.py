"""Finding the passages for a question in the indexes of the given corpora, and only those."""

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ingestion import indexing, services
from ingestion.models import Chunk, Corpus, Document

from . import retrieval

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Passage:
    chunk: Chunk  # with its document
    score: float  # cosine similarity to the question
    dense_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    query_vectors: dict[str, np.ndarray]  # by embedding model
    seconds: float


def dense_hits(corpus: Corpus, query_vector: np.ndarray, candidates: int) -> list:
    """The corpus' nearest passages; a missing or unreadable index gives none and is rebuilt in a worker
    (the database holds every vector), so questions meanwhile are answered from the keyword index."""
    store = indexing.store_for(corpus)
    try:
        if store.exists():
            return store.search(query_vector[None, :], candidates)[0]
        if not Document.objects.filter(corpus=corpus, status=Document.Status.READY).exists():
            return []  # nothing indexed yet
        log.warning("the vector index of corpus %s is missing", corpus.pk)
    except Exception:
        log.exception("the vector index of corpus %s could not be searched", corpus.pk)
    services.request_rebuild(corpus.pk)
    return []


def keyword_hits(corpus: Corpus, question: str, candidates: int) -> list:
    try:
        return indexing.keywords_for(corpus.pk).search(question, candidates)
    except Exception:
        log.exception("the keyword index of corpus %s could not be searched", corpus.pk)
        services.request_rebuild(corpus.pk)
        return []


def vector_of(chunk: Chunk, model: str) -> np.ndarray | None:
    """The chunk's vector from `model`: a re-embedding that swapped in another model's vectors since the
    corpus was read keeps the old ones in next_vector for a while."""
    blob = chunk.vector
    if chunk.document.embedding_model not in ("", model) and chunk.next_vector is not None:
        blob = chunk.next_vector
    return None if blob is None else np.frombuffer(bytes(blob), dtype=np.float32)


def retrieve(
    question: str,
    corpora: list[Corpus],
    *,
    k: int | None = None,
    min_score: float | None = None,
    candidates: int | None = None,
    use_keywords: bool | None = None,
) -> Retrieval:
    """The k passages of the corpora that best answer the question, best first.

    Only the indexes of the given corpora are searched: the caller decides which corpora
    a user may read, before anything is retrieved.
    """
    started = time.perf_counter()
    k = settings.RETRIEVAL_TOP_K if k is None else k
    min_score = settings.RETRIEVAL_MIN_SCORE if min_score is None else min_score
    candidates = max(settings.RETRIEVAL_CANDIDATES if candidates is None else candidates, k)
    use_keywords = settings.RETRIEVAL_KEYWORDS if use_keywords is None else use_keywords

    query_vectors: dict[str, np.ndarray] = {}
    dense_lists, keyword_lists = [], []
    for corpus in corpora:
        model = corpus.embedding_model
        if model not in query_vectors:
            query_vectors[model] = indexing.encoder_for(model).encode([question])[0]
        dense_lists.append(dense_hits(corpus, query_vectors[model], candidates))
        if use_keywords:
            keyword_lists.append(keyword_hits(corpus, question, candidates))
    dense = retrieval.merge_by_score(dense_lists)[:candidates]
    keyword = retrieval.merge_by_score(keyword_lists)[:candidates]
    fused = retrieval.fuse(dense, keyword)

    # By primary key alone (a join on corpus makes SQLite walk the whole corpus); the corpus and
    # status are checked on the rows, so nothing outside the given corpora gets through.
    fetched = Chunk.objects.filter(pk__in=[f.id for f in fused]).select_related("document").order_by().in_bulk()
    allowed = {corpus.pk for corpus in corpora}
    chunks = {
        chunk_id: chunk
        for chunk_id, chunk in fetched.items()
        if chunk.document.corpus_id in allowed and chunk.document.status == Document.Status.READY
    }
    model_of = {corpus.pk: corpus.embedding_model for corpus in corpora}
    similarity = {}
    for chunk_id, chunk in chunks.items():
        vector = vector_of(chunk, model_of[chunk.document.corpus_id])
        query_vector = query_vectors[model_of[chunk.document.corpus_id]]
        if vector is not None and vector.shape == query_vector.shape:
            similarity[chunk_id] = float(vector @ query_vector)
    # An id whose chunk is gone (deleted since the index was written) has no similarity and is skipped.
    chosen = retrieval.select(fused, similarity, k=k, min_score=min_score)
    passages = [
        Passage(chunk=chunks[f.id], score=similarity[f.id], dense_rank=f.dense_rank, keyword_rank=f.keyword_rank)
        for f in chosen
    ]
    return Retrieval(passages=passages, query_vectors=query_vectors, seconds=time.perf_counter() - started)
