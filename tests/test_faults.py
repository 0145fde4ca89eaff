"""Things broken on purpose, with real processes on loopback: nothing is lost, nothing stays stuck.

The corrupted and deleted indexes are in tests/ingestion/test_doctor.py; a pool process killed mid-document
and a document deleted while it is embedded are in tests/ingestion/test_worker.py."""

import gc
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.broker import start_redis_server
from config.celery import app as celery_app
from ingestion import corpus_index, encoders, extract, pipeline, services
from ingestion.models import Document
from qa.models import Answer
from testkit.documents import long_pages, make_pdf

from .conftest import start_worker, stop_worker, wait_until_settled
from .qa.test_answers import QUESTION, TERN, read_events


def upload(path: Path, corpus) -> Document:
    with open(path, "rb") as f:
        return services.accept_upload(file=f, name=path.name, corpus=corpus).document


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def expected_chunks(path: Path, corpus) -> list[str]:
    """The passages a clean run cuts from the PDF, computed here without a worker."""
    chunker = pipeline.make_chunker(encoders.encoder_for(corpus.embedding_model))
    return [piece.text for page in extract.iter_pages(path, "pdf") for piece in chunker.split(page.text)]


@pytest.fixture
def own_queue(worker_env, monkeypatch) -> dict:
    """A queue of its own (so the session's worker takes nothing) and quick sweeps for lost documents."""
    queue = f"fault-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    return {**worker_env, "CELERY_TASK_DEFAULT_QUEUE": queue, "INGEST_STALE_AFTER": "6",
            "INGEST_SWEEP_INTERVAL": "1", "INGEST_REQUEUE_AFTER": "2"}  # fmt: skip


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_outright_mid_document_is_replaced_and_the_document_gets_exactly_its_chunks(
    own_queue, tmp_path
):
    corpus = services.create_corpus(name="Killed worker")
    pdf = make_pdf(tmp_path / "two-hundred.pdf", pages=long_pages(200))
    first = start_worker(tmp_path / "first.log", own_queue)
    second = None
    try:
        document = upload(pdf, corpus)
        wait_for(lambda: Document.objects.get(pk=document.pk).chunks_done > 0, timeout=180, what="embedding")
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole worker, main process and pool, at once
        first.process.wait()
        assert Document.objects.get(pk=document.pk).status == Document.Status.EMBEDDING

        second = start_worker(tmp_path / "second.log", own_queue)
        (document,) = wait_until_settled([document.pk], timeout=300)
        assert document.status == Document.Status.READY, document.error + second.log()[-3000:]
        assert document.attempts == 2
        stored = list(document.chunks.order_by("ordinal").values_list("ordinal", "text"))
        expected = expected_chunks(pdf, corpus)
        assert [ordinal for ordinal, _ in stored] == list(range(len(expected)))  # no gaps, no duplicates
        assert [text for _, text in stored] == expected
        assert document.pages_done == 200
        assert corpus_index.diagnose_corpus(corpus) == []  # the index holds each passage once
    finally:
        if second:
            stop_worker(second)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_redis_restarted_while_documents_wait_and_one_is_processed_loses_none(own_queue, tmp_path, monkeypatch):
    redis = start_redis_server(tmp_path / "redis")
    if redis is None:
        pytest.skip("redis-server is not installed")
    port = int(redis.url.rsplit(":", 1)[1].split("/")[0])
    monkeypatch.setitem(celery_app.conf, "broker_url", redis.url)
    worker = start_worker(tmp_path / "worker.log", {**own_queue, "CELERY_BROKER_URL": redis.url})
    try:
        corpus = services.create_corpus(name="Restarted broker")
        smalls = [make_pdf(tmp_path / f"small-{n}.pdf", pages=long_pages(2 + n)) for n in range(3)]
        big = upload(make_pdf(tmp_path / "big.pdf", pages=long_pages(150)), corpus)
        wait_for(lambda: Document.objects.get(pk=big.pk).status != Document.Status.QUEUED, timeout=120,
                 what="the big document to be taken")  # fmt: skip
        waiting = [upload(path, corpus) for path in smalls]  # queued behind it (one task at a time)
        assert Document.objects.get(pk=big.pk).is_active
        assert Document.objects.filter(pk__in=[d.pk for d in waiting], status=Document.Status.QUEUED).count() == 3

        redis.stop()  # no persistence: the queued messages are gone with it
        redis = start_redis_server(tmp_path / "redis", port=port)
        assert redis is not None

        settled = wait_until_settled([big.pk, *(d.pk for d in waiting)], timeout=300)
        assert [d.status for d in settled] == ["ready"] * 4, worker.log()[-3000:]
        assert corpus_index.diagnose_corpus(corpus) == []
        assert worker.is_alive()
    finally:
        stop_worker(worker)
        if redis:
            redis.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_one_corpus_at_once_index_every_passage_exactly_once(celery_worker, worker_env,
                                                                                    tmp_path):  # fmt: skip
    other = start_worker(tmp_path / "other.log", worker_env)  # the same queue as the session's worker
    try:
        corpus = services.create_corpus(name="Two workers")
        documents = [upload(make_pdf(tmp_path / f"doc-{n}.pdf", pages=long_pages(4 + n)), corpus) for n in range(8)]
        settled = wait_until_settled([d.pk for d in documents], timeout=300)
        assert {d.status for d in settled} == {"ready"}
        chunk_ids = sorted(corpus.documents.values_list("chunks__pk", flat=True))
        assert sorted(corpus_index.store_for(corpus).ids().tolist()) == chunk_ids
        assert corpus_index.diagnose_corpus(corpus) == []
        assert "succeeded" in other.log(), "the second worker took no document"
        assert "succeeded" in celery_worker.log()
    finally:
        stop_worker(other)


@pytest.mark.django_db
def test_an_answer_whose_llm_server_stops_mid_stream_keeps_the_partial_text_and_the_passages(
    staff_client, field_notes, fake_llm
):
    fake_llm.answer, fake_llm.failure, fake_llm.cut_after, fake_llm.token_delay = TERN, "cut", 5, 0.05
    response = staff_client.post(
        "/api/v1/ask/stream", json.dumps({"question": QUESTION}), content_type="application/json"
    )
    events = read_events(response)
    done = events[-1][2]
    assert [kind for _, kind, _ in events[:2]] == ["searched", "sources"]
    assert done["status"] == "incomplete"
    assert done["answer"]
    assert TERN.startswith(done["answer"])
    assert done["sources"]
    assert "incomplete" in done["message"]
    stored = Answer.objects.get(pk=done["answer_id"])
    assert (stored.status, stored.text) == ("incomplete", done["answer"])


@pytest.fixture
def full_disk(tmp_path):
    """A real, tiny filesystem (1 MiB of tmpfs) to fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode:
        pytest.skip(f"cannot mount a 1 MiB tmpfs to fill (needs root): {result.stderr.decode().strip()}")
    yield mount
    gc.collect()  # closes Django's spooled upload files, which would otherwise keep the mount busy
    subprocess.run(["umount", "--lazy", str(mount)], check=False)


def big_file(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("big.txt", b"Words on a full disk. " * (size // 22))


@pytest.mark.django_db
def test_a_disk_that_fills_while_the_body_is_received_gives_a_plain_message_and_no_document(
    staff_client, full_disk, settings
):
    settings.FILE_UPLOAD_TEMP_DIR = str(full_disk)  # where Django spools an upload over 2 MiB
    corpus = services.create_corpus(name="Full disk")
    response = staff_client.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [big_file(3 * 2**20)]},
                                 headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 507
    assert "disk may be full" in response.json()["detail"]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_a_disk_that_fills_while_the_file_is_stored_gives_a_plain_message_and_no_document(
    staff_client, full_disk, settings
):
    settings.MEDIA_ROOT = str(full_disk)
    corpus = services.create_corpus(name="Full disk")
    response = staff_client.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [big_file(int(1.5 * 2**20))]},
                                 headers={"Accept": "application/json"})  # fmt: skip
    (result,) = response.json()["results"]
    assert result["outcome"] == "error"
    assert "disk may be full" in result["error"]
    assert not Document.objects.exists()
    assert not [path for path in full_disk.rglob("*") if path.is_file()]  # the partial copy was removed


@pytest.mark.django_db
def test_an_unwritable_data_folder_gives_a_plain_message_and_leaves_no_document(staff_client, tmp_path, settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("where the upload folder should be")
    settings.MEDIA_ROOT = blocker / "uploads"
    corpus = services.create_corpus(name="Unwritable")
    response = staff_client.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [big_file(1000)]},
                                 headers={"Accept": "application/json"})  # fmt: skip
    (result,) = response.json()["results"]
    assert result["outcome"] == "error"
    assert "disk may be full" in result["error"]
    assert not Document.objects.exists()
