"""Retrieval: fusion arithmetic, and the service over real indexes and the real embedding model."""

import io

import numpy as np
import pytest

from ingestion import indexing, services
from ingestion.index import Hit, IndexStore
from ingestion.tasks import ingest
from qa import retrieval
from qa.search import retrieve


def test_an_id_found_by_both_retrievers_outranks_ids_found_by_one():
    fused = retrieval.fuse([Hit(1, 0.9), Hit(2, 0.8)], [Hit(3, 12.0), Hit(2, 11.0)])
    assert [f.id for f in fused] == [2, 1, 3]
    assert (fused[0].dense_rank, fused[0].keyword_rank) == (2, 2)


def test_merging_corpora_orders_by_score_and_keeps_an_ids_best_score():
    merged = retrieval.merge_by_score([[Hit(1, 0.5), Hit(2, 0.4)], [Hit(3, 0.7), Hit(1, 0.6)]])
    assert [(h.id, h.score) for h in merged] == [(3, 0.7), (1, 0.6), (2, 0.4)]


def test_results_below_the_score_floor_are_not_selected():
    fused = retrieval.fuse([Hit(1, 0.9), Hit(2, 0.1)], [])
    chosen = retrieval.select(fused, {1: 0.9, 2: 0.1}, k=5, min_score=0.2)
    assert [f.id for f in chosen] == [1]


def add_text(corpus, name: str, text: str):
    document = services.accept_upload(file=io.BytesIO(text.encode()), name=name, corpus=corpus).document
    ingest(document.pk)
    return document


def test_the_passage_on_the_right_page_comes_first(field_notes):
    found = retrieve("Which bird has the longest migration of any animal?", [field_notes])
    assert found.passages[0].chunk.page == 3
    assert found.passages[0].score > 0.5


def test_a_question_about_nothing_in_the_corpus_gets_no_passages(field_notes):
    found = retrieve(
        "What is the airspeed velocity of an unladen swallow in a hurricane?", [field_notes], min_score=0.3
    )
    assert all(p.score >= 0.3 for p in found.passages)
    assert not retrieve("Quarterly tax filing deadlines for corporations", [field_notes]).passages


def test_keyword_search_finds_a_part_number_the_dense_model_misses(corpus):
    target = add_text(corpus, "recall.txt", "Part XK-4471 was recalled in March because its seal could leak.")
    for number in range(12):
        add_text(corpus, f"parts-{number}.txt", f"Part XK-{5000 + number} was recalled in March after a seal leak.")
    question = "What happened to XK-4471?"
    hybrid = retrieve(question, [corpus], k=1, use_keywords=True, min_score=0)
    assert hybrid.passages[0].chunk.document_id == target.pk
    assert hybrid.passages[0].keyword_rank == 1


def test_only_the_corpora_asked_over_are_searched(corpus, field_notes):
    other = services.create_corpus(name="Other")
    add_text(other, "tern.txt", "The Arctic tern has the longest migration of any animal, pole to pole.")
    found = retrieve("Which bird has the longest migration?", [other])
    assert {p.chunk.document.corpus_id for p in found.passages} == {other.pk}
    found = retrieve("Which bird has the longest migration?", [field_notes])
    assert {p.chunk.document.corpus_id for p in found.passages} == {field_notes.pk}


def test_a_deleted_document_is_never_retrieved_even_if_its_index_entries_stay(corpus):
    keep = add_text(corpus, "keep.txt", "Sourdough starters need daily feeding with flour and water.")
    gone = add_text(corpus, "gone.txt", "Sourdough bread rises because wild yeast ferments the dough.")
    chunk_ids = list(gone.chunks.values_list("pk", flat=True))
    gone.delete()  # the row only: the index entries are left behind on purpose
    found = retrieve("Why does sourdough bread rise?", [corpus], min_score=0)
    assert [p.chunk.document_id for p in found.passages] == [keep.pk]
    assert set(chunk_ids).isdisjoint(p.chunk.pk for p in found.passages)


def test_a_large_index_becomes_ivf_and_finds_what_exact_search_finds(tmp_path):
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.standard_normal((4000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(10, 4010, dtype=np.int64)
    exact = IndexStore(tmp_path / "exact", ann_threshold=10**9)
    approximate = IndexStore(tmp_path / "ivf", ann_threshold=3000, nprobe=16)
    exact.add(ids, vectors, model="m")
    approximate.add(ids[:2000], vectors[:2000], model="m")
    assert approximate.meta()["kind"] == "flat"
    approximate.add(ids[2000:], vectors[2000:], model="m")
    assert approximate.meta()["kind"] == "ivf"
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, 384)).astype(np.float32)
    found_exact = [{h.id for h in hits} for hits in exact.search(queries, 10)]
    found_ivf = [{h.id for h in hits} for hits in approximate.search(queries, 10)]
    recall = np.mean([len(a & b) / 10 for a, b in zip(found_exact, found_ivf, strict=True)])
    assert recall >= 0.95
    approximate.remove([10, 11])
    assert 10 not in {h.id for h in approximate.search(vectors[:1], 5)[0]}
    assert approximate.meta()["count"] == 3998


def test_rebuilding_restores_the_keyword_index_too(corpus):
    add_text(corpus, "recall.txt", "Part XK-4471 was recalled in March.")
    keywords = indexing.keywords_for(corpus.pk)
    assert keywords.search("XK 4471", 5)
    indexing.rebuild_corpus_index(corpus)
    assert len(keywords.search("XK 4471", 5)) == 1


@pytest.mark.parametrize("question", ["", "???", 'AND OR NOT ( " : *'])
def test_questions_without_words_or_with_query_syntax_do_not_break_keyword_search(corpus, question):
    add_text(corpus, "recall.txt", "Part XK-4471 was recalled in March.")
    assert isinstance(indexing.keywords_for(corpus.pk).search(question, 5), list)
