"""Retrieval: the service over real indexes and the real embedding model."""

import io

from ingestion import services
from ingestion.tasks import ingest
from qa import answering, warmup
from qa.retrieval import retrieve


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


def test_warming_up_loads_the_embedding_model_and_searches_each_corpus_with_documents(field_notes):
    answering.cached_encoder.cache_clear()
    assert warmup.warm_up() > 0
    assert answering.cached_encoder.cache_info().currsize == 1


def test_the_same_text_in_two_documents_is_one_passage(corpus):
    story = "To Sherlock Holmes she is always the woman. I have seldom heard him mention her under any other name."
    for name, data in (("holmes.txt", story), ("holmes.html", f"<html><body><p>{story}</p></body></html>")):
        ingest(services.accept_upload(file=io.BytesIO(data.encode()), name=name, corpus=corpus, send=False).document.pk)
    passages = retrieve("Who is always the woman to Sherlock Holmes?", [corpus]).passages
    texts = [" ".join(p.chunk.text.split()) for p in passages]
    assert len(texts) == len(set(texts))
    assert sum(story in text for text in texts) == 1
