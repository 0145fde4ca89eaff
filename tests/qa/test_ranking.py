"""Ranking arithmetic: fusing the dense and keyword lists, merging corpora, the score floor."""

from ingestion.vector_index import Hit
from qa import ranking


def test_an_id_found_by_both_retrievers_outranks_ids_found_by_one():
    fused = ranking.fuse([Hit(1, 0.9), Hit(2, 0.8)], [Hit(3, 12.0), Hit(2, 11.0)])
    assert [f.id for f in fused] == [2, 1, 3]
    assert (fused[0].dense_rank, fused[0].keyword_rank) == (2, 2)


def test_merging_corpora_orders_by_score_and_keeps_an_ids_best_score():
    merged = ranking.merge_by_score([[Hit(1, 0.5), Hit(2, 0.4)], [Hit(3, 0.7), Hit(1, 0.6)]])
    assert [(h.id, h.score) for h in merged] == [(3, 0.7), (1, 0.6), (2, 0.4)]


def test_results_below_the_score_floor_are_not_selected():
    fused = ranking.fuse([Hit(1, 0.9), Hit(2, 0.1)], [])
    chosen = ranking.select(fused, {1: 0.9, 2: 0.1}, k=5, min_score=0.2)
    assert [f.id for f in chosen] == [1]


def test_a_passage_whose_text_a_better_one_already_has_is_dropped():
    fused = [ranking.Fused(id=i, score=1 / i, dense_rank=i, keyword_rank=None) for i in (1, 2, 3)]
    texts = {
        1: "To Sherlock Holmes she is always the woman.",
        2: "to Sherlock holmes\nshe is  always the woman.",
        3: "x",
    }
    assert [f.id for f in ranking.without_repeats(fused, texts)] == [1, 3]
