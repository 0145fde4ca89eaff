"""Damaged indexes: found by `doctor`, repaired from the database, and survived by asking meanwhile."""

import time
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from ingestion import corpus_index, services
from ingestion.models import Corpus, Document
from ingestion.vector_index import LOADED
from qa.retrieval import retrieve
from testkit.documents import TOPIC_PAGES, make_pdf

from ..conftest import wait_until_settled

QUESTION = "Which bird has the longest migration?"


def found(corpus) -> list[int]:
    return [passage.chunk.pk for passage in retrieve(QUESTION, [corpus]).passages]


def doctor(*args: str) -> str:
    out = StringIO()
    call_command("doctor", *args, stdout=out)
    return out.getvalue()


def test_a_healthy_corpus_is_reported_ok(field_notes):
    assert doctor() == f"{field_notes.slug}: ok\n"


def test_a_deleted_index_is_answered_from_keywords_then_rebuilt_and_answers_as_before(field_notes):
    before = found(field_notes)
    store = corpus_index.store_for(field_notes)
    store.index_path.unlink()
    cache.clear()

    meanwhile = retrieve(QUESTION, [field_notes]).passages
    assert meanwhile
    assert meanwhile[0].chunk.page == 3  # the keyword index still finds it
    assert cache.get(f"rebuild-requested:{field_notes.pk}")  # and a worker was asked to rebuild

    report = doctor()
    assert "the vector index is missing" in report
    assert "repaired" in report
    assert found(field_notes) == before
    assert doctor() == f"{field_notes.slug}: ok\n"


def test_a_corrupted_index_file_does_not_break_asking_and_is_repaired(field_notes):
    before = found(field_notes)
    store = corpus_index.store_for(field_notes)
    store.index_path.write_bytes(b"not a faiss index at all")
    LOADED.loaded.clear()

    assert retrieve(QUESTION, [field_notes]).passages[0].chunk.page == 3
    assert "cannot be read" in doctor()
    assert found(field_notes) == before


def test_passages_missing_from_the_index_or_from_another_model_are_found_and_check_repairs_nothing(field_notes):
    store = corpus_index.store_for(field_notes)
    gone = list(field_notes.documents.get().chunks.values_list("pk", flat=True)[:2])
    store.remove(gone)
    Corpus.objects.filter(pk=field_notes.pk).update(embedding_model="some/other-model")
    with pytest.raises(CommandError, match=field_notes.slug):
        doctor("--check")
    field_notes.refresh_from_db()
    problems = corpus_index.diagnose_corpus(field_notes)  # still there: --check repairs nothing
    assert any("2 passages are missing" in problem for problem in problems)
    assert any("'some/other-model'" in problem for problem in problems)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_next_question_after_the_index_is_lost_has_a_worker_rebuild_it(celery_worker, tmp_path):
    corpus = services.create_corpus(name="Lost index")
    path = make_pdf(tmp_path / "topics.pdf", pages=TOPIC_PAGES)
    with open(path, "rb") as f:
        document = services.accept_upload(file=f, name=path.name, corpus=corpus).document
    assert wait_until_settled([document.pk])[0].status == Document.Status.READY
    before = found(corpus)
    corpus_index.store_for(corpus).index_path.unlink()
    cache.clear()

    assert found(corpus)  # answered from keywords while the worker rebuilds
    deadline = time.monotonic() + 60
    while corpus_index.diagnose_corpus(corpus) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert corpus_index.diagnose_corpus(corpus) == [], celery_worker.log()[-3000:]
    assert found(corpus) == before
