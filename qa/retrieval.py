"""Finding the passages for a question in the indexes of the given corpora, and only those."""

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ingestion import corpus_index, encoders
from ingestion.models import Chunk, Corpus, Document

from . import ranking

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
    seconds: float


def retrieve(
    question: str,
    corpora: list[Corpus],
    *,
    k: int | None = None,
    min_score: float | None = None,
    candidates: int | None = None,
    use_keywords: bool | None = None,
    pinned: tuple[int, ...] = (),
) -> Retrieval:
    """The k passages of the corpora that best answer the question, best first; the chunks pinned first
    (those of them in the corpora, whatever their similarity: the head of the document a conversation is
    about, for "who wrote it?").

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
            query_vectors[model] = encoders.encoder_for(model).encode([question])[0]
        dense, keyword = corpus_index.search(
            corpus, question, query_vectors[model], candidates, use_keywords=use_keywords
        )
        dense_lists.append(dense)
        keyword_lists.append(keyword)
    dense = ranking.merge_by_score(dense_lists)[:candidates]
    keyword = ranking.merge_by_score(keyword_lists)[:candidates]
    fused = ranking.fuse(dense, keyword)
    fused = [ranking.Fused(id=i, score=0.0, dense_rank=None, keyword_rank=None) for i in pinned] + [
        f for f in fused if f.id not in pinned
    ]

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
        vector = corpus_index.vector_of(chunk, model_of[chunk.document.corpus_id])
        query_vector = query_vectors[model_of[chunk.document.corpus_id]]
        if vector is not None and vector.shape == query_vector.shape:
            similarity[chunk_id] = float(vector @ query_vector)
    # An id whose chunk is gone (deleted since the index was written) has no similarity and is skipped.
    texts = {chunk_id: chunk.text for chunk_id, chunk in chunks.items()}
    chosen = ranking.select(fused, similarity, k=k, min_score=min_score, texts=texts, kept=frozenset(pinned))
    passages = [
        Passage(chunk=chunks[f.id], score=similarity[f.id], dense_rank=f.dense_rank, keyword_rank=f.keyword_rank)
        for f in chosen
    ]
    return Retrieval(passages=passages, seconds=time.perf_counter() - started)
