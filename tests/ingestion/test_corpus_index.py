"""A corpus' indexes kept beside the database: rebuilding them, and searching the keyword index."""

import io

import pytest

from ingestion import corpus_index, services
from ingestion.tasks import ingest


def add_recall_notice(corpus) -> None:
    text = b"Part XK-4471 was recalled in March."
    ingest(services.accept_upload(file=io.BytesIO(text), name="recall.txt", corpus=corpus).document.pk)


def test_rebuilding_restores_the_keyword_index_too(corpus):
    add_recall_notice(corpus)
    keywords = corpus_index.keywords_for(corpus.pk)
    assert keywords.search("XK 4471", 5)
    corpus_index.rebuild_corpus_index(corpus)
    assert len(keywords.search("XK 4471", 5)) == 1


@pytest.mark.parametrize("question", ["", "???", 'AND OR NOT ( " : *'])
def test_questions_without_words_or_with_query_syntax_do_not_break_keyword_search(corpus, question):
    add_recall_notice(corpus)
    assert isinstance(corpus_index.keywords_for(corpus.pk).search(question, 5), list)
