"""Ranking of retrieved chunk ids: merging per-corpus results and fusing dense with keyword ranks.

Plain Python: ids, scores and vectors in, ids and scores out.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ingestion.vector_index import Hit

# The k of reciprocal rank fusion (Cormack et al., 2009): it damps the weight of the very first ranks.
RRF_K = 60


@dataclass(frozen=True)
class Fused:
    id: int
    score: float  # the fused score; only its order means anything
    dense_rank: int | None  # 1-based ranks in each list; None when that retriever did not find it
    keyword_rank: int | None


def merge_by_score(hit_lists: Iterable[list[Hit]]) -> list[Hit]:
    """One list, best score first, from several (one per corpus); an id keeps its best score."""
    best: dict[int, Hit] = {}
    for hits in hit_lists:
        for hit in hits:
            if hit.id not in best or hit.score > best[hit.id].score:
                best[hit.id] = hit
    return sorted(best.values(), key=lambda hit: hit.score, reverse=True)


def fuse(dense: list[Hit], keyword: list[Hit], *, rrf_k: int = RRF_K) -> list[Fused]:
    """Reciprocal rank fusion of two rankings: each list adds 1 / (rrf_k + rank) to an id's score."""
    dense_ranks = {hit.id: rank for rank, hit in enumerate(dense, start=1)}
    keyword_ranks = {hit.id: rank for rank, hit in enumerate(keyword, start=1)}
    fused = []
    for chunk_id in dense_ranks.keys() | keyword_ranks.keys():
        d, w = dense_ranks.get(chunk_id), keyword_ranks.get(chunk_id)
        score = (1 / (rrf_k + d) if d else 0.0) + (1 / (rrf_k + w) if w else 0.0)
        fused.append(Fused(id=chunk_id, score=score, dense_rank=d, keyword_rank=w))
    # Ties (one id first in one list, another first in the other) go to the dense result.
    fused.sort(key=lambda f: (-f.score, f.dense_rank or len(dense_ranks) + 1))
    return fused


def without_repeats(fused: list[Fused], texts: dict[int, str]) -> list[Fused]:
    """The fused results less those whose text (whitespace and case aside) a better-ranked one already has:
    the same book uploaded as text and as HTML is one source, not two."""
    seen, kept = set(), []
    for result in fused:
        key = " ".join(texts.get(result.id, "").split()).casefold()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(result)
    return kept


def select(
    fused: list[Fused],
    similarity: dict[int, float],
    *,
    k: int,
    min_score: float,
    texts: dict[int, str] | None = None,
    kept: frozenset[int] = frozenset(),
) -> list[Fused]:
    """The first k fused results whose similarity to the question reaches min_score, each text once (when
    texts are given: see without_repeats).

    The floor is applied to every result, whichever retriever found it, so a question about
    nothing in the corpus gets no passages rather than the least bad ones; but not to those in kept (chosen
    by the conversation, not by their words).
    """
    passing = [f for f in fused if f.id in similarity and (f.id in kept or similarity[f.id] >= min_score)]
    return (without_repeats(passing, texts) if texts is not None else passing)[:k]
