"""Re-embedding a corpus with another model: the new vectors and index swap in when all are done."""

import time

import numpy as np
import pytest
from django.utils import timezone

from ingestion import corpus_index, encoders, pipeline, reembedding, services
from ingestion.models import Chunk, Document, Reembedding
from qa.retrieval import retrieve
from testkit.documents import TOPIC_PAGES, long_pages, make_pdf

from ..conftest import wait_until_settled

QUESTION = "Which bird has the longest migration?"


def dimension(chunk: Chunk) -> int:
    return len(bytes(chunk.vector)) // 4


def reembed(corpus, model: str) -> Reembedding:
    started = services.start_reembedding(corpus, model)
    reembedding.run_reembedding(started.pk)
    started.refresh_from_db()
    corpus.refresh_from_db()
    return started


def test_a_reembedded_corpus_searches_with_the_new_models_vectors_and_index(field_notes, second_model):
    done = reembed(field_notes, second_model)
    assert done.status == "done", done.error
    assert done.chunks_done == done.chunks_total == Chunk.objects.count()
    assert field_notes.embedding_model == second_model
    assert field_notes.vector_generation == 1
    assert {dimension(chunk) for chunk in Chunk.objects.all()} == {256}
    assert {len(bytes(chunk.next_vector)) // 4 for chunk in Chunk.objects.all()} == {384}  # kept a while
    assert Document.objects.get().embedding_model == second_model
    meta = corpus_index.store_for(field_notes).meta()
    assert (meta["model"], meta["dimension"], meta["count"]) == (second_model, 256, Chunk.objects.count())
    assert retrieve(QUESTION, [field_notes]).passages[0].chunk.page == 3


def test_the_old_index_is_dropped_after_the_swap_and_the_new_one_stays(field_notes, second_model):
    old = corpus_index.store_for(field_notes)
    reembed(field_notes, second_model)
    assert old.exists()  # kept a while for searches that began before the swap
    reembedding.drop_old_vectors(field_notes.pk)
    assert not old.exists()
    assert not Chunk.objects.filter(next_vector__isnull=False).exists()
    assert corpus_index.store_for(field_notes).exists()
    assert corpus_index.keywords_for(field_notes.pk).exists()


def test_a_model_that_cannot_be_loaded_fails_with_a_message_and_changes_nothing(field_notes, tmp_path):
    before = list(Chunk.objects.values_list("pk", "vector"))
    failed = reembed(field_notes, str(tmp_path / "no-such-model"))
    assert failed.status == "failed"
    assert "could not be loaded" in failed.error
    assert field_notes.vector_generation == 0
    assert [(pk, bytes(v)) for pk, v in Chunk.objects.values_list("pk", "vector")] == [
        (pk, bytes(v)) for pk, v in before
    ]
    assert retrieve(QUESTION, [field_notes]).passages[0].chunk.page == 3


def test_a_second_reembedding_of_the_same_corpus_waits_for_the_first(corpus, second_model):
    services.start_reembedding(corpus, second_model)
    with pytest.raises(services.ReembeddingError, match="already being re-embedded"):
        services.start_reembedding(corpus, second_model)


def test_a_reembedding_whose_worker_went_away_no_longer_blocks_the_next(corpus, second_model, settings):
    lost = services.start_reembedding(corpus, second_model)
    Reembedding.objects.filter(pk=lost.pk).update(
        status="running", heartbeat_at=timezone.now() - timezone.timedelta(seconds=settings.INGEST_STALE_AFTER + 5)
    )
    again = services.start_reembedding(corpus, second_model)
    lost.refresh_from_db()
    assert lost.status == "failed"
    assert again.status == "queued"


def test_a_document_embedded_with_the_old_model_during_the_swap_is_embedded_again(field_notes, upload, tmp_path,
                                                                                   second_model):  # fmt: skip
    late = upload(make_pdf(tmp_path / "late.pdf", pages=["Emperor penguins huddle through the Antarctic winter."]))
    document = pipeline.claim(late.pk)
    encoder = encoders.encoder_for(field_notes.embedding_model)
    deadline = time.monotonic() + 60
    pipeline.split_into_chunks(document, tmp_path / "late.pdf", pipeline.make_chunker(encoder), deadline)
    pipeline.embed_chunks(document, encoder, deadline)
    assert {dimension(chunk) for chunk in document.chunks.all()} == {384}

    reembed(field_notes, second_model)  # swaps while the late document is still being processed
    pipeline.add_to_index(document, encoder, deadline)

    document.refresh_from_db()
    assert document.status == "ready"
    assert document.embedding_model == second_model
    assert {dimension(chunk) for chunk in document.chunks.all()} == {256}
    hits = retrieve("Where do emperor penguins spend the winter?", [field_notes]).passages
    assert hits[0].chunk.document_id == document.pk


def test_the_admin_asks_for_the_model_then_starts_the_reembedding(admin_client, corpus, second_model):
    changelist = "/admin/ingestion/corpus/"
    form = admin_client.post(changelist, {"action": "reembed", "_selected_action": [corpus.pk]})
    assert form.status_code == 200
    assert "Embedding model" in form.content.decode()
    started = admin_client.post(
        changelist, {"action": "reembed", "_selected_action": [corpus.pk], "apply": "1", "model": second_model}
    )
    assert started.status_code == 302
    (queued,) = Reembedding.objects.all()
    assert (queued.corpus, queued.to_model, queued.status) == (corpus, second_model, "queued")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_asking_keeps_working_while_a_worker_reembeds_the_corpus(celery_worker, second_model, tmp_path):
    corpus = services.create_corpus(name="Busy corpus")
    paths = [make_pdf(tmp_path / "topics.pdf", pages=TOPIC_PAGES)]
    paths += [make_pdf(tmp_path / f"filler-{n}.pdf", pages=long_pages(10 + n)) for n in range(4)]
    ids = []
    for path in paths:
        with open(path, "rb") as f:
            ids.append(services.accept_upload(file=f, name=path.name, corpus=corpus).document.pk)
    assert all(d.status == "ready" for d in wait_until_settled(ids))

    started = services.start_reembedding(corpus, second_model)
    answers, deadline = [], time.monotonic() + 300
    while Reembedding.objects.get(pk=started.pk).is_active and time.monotonic() < deadline:
        corpus.refresh_from_db()
        answers.append(retrieve(QUESTION, [corpus]).passages)
    started.refresh_from_db()
    assert started.status == "done", started.error + celery_worker.log()[-3000:]
    assert len(answers) >= 3, "the re-embedding ended before asking could be tried during it"
    assert all(passages and passages[0].chunk.page == 3 for passages in answers)
    corpus.refresh_from_db()
    assert corpus.embedding_model == second_model
    top = retrieve(QUESTION, [corpus]).passages[0]
    assert top.chunk.page == 3
    assert np.frombuffer(bytes(top.chunk.vector), dtype=np.float32).shape == (256,)
