"""End to end through a real Celery worker process, real Redis and the real database."""

import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.celery import app as celery_app
from ingestion import corpus_index, services
from ingestion.models import Chunk, Document
from qa.retrieval import retrieve
from testkit.documents import long_pages, make_encrypted_pdf, make_pdf

from ..conftest import ROOT, start_worker, stop_worker, wait_until_settled

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_uploaded_pdf_becomes_ready_and_page_3_is_found(celery_worker, client, django_user_model, five_page_pdf):
    staff = django_user_model.objects.create_user(username="staff", password="pw-for-tests-only", is_staff=True)
    client.force_login(staff)
    corpus = services.create_corpus(name="Worker check")
    with open(five_page_pdf, "rb") as f:
        client.post(reverse("ingestion:upload", args=[corpus.slug]), {"files": [f]})
    (document,) = wait_until_settled(list(Document.objects.values_list("pk", flat=True)), timeout=180)
    assert document.status == Document.Status.READY, f"{document.error}\n{celery_worker.log()[-3000:]}"
    chunks = list(document.chunks.all())
    assert chunks
    assert all(chunk.page in range(1, 6) and chunk.vector for chunk in chunks)
    found = retrieve(
        "The Arctic tern flies from the Arctic to the Antarctic and back.", [corpus], k=1, use_keywords=False
    )
    assert found.passages[0].chunk.page == 3
    assert f"doc={document.pk}]: ready: 5 pages" in celery_worker.log()  # the worker's records name the document


def test_bad_files_fail_with_messages_and_the_worker_carries_on(celery_worker, tmp_path):
    corpus = services.create_corpus(name="Bad files")
    locked = make_encrypted_pdf(tmp_path / "locked.pdf", password="pw", pages=["Secret"])
    whole = make_pdf(tmp_path / "whole.pdf", pages=long_pages(2))
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(whole.read_bytes()[:300])
    good = make_pdf(tmp_path / "good.pdf", pages=["After the bad ones, this one still works."])
    ids = []
    for path in (locked, truncated, good):
        with open(path, "rb") as f:
            ids.append(services.accept_upload(file=f, name=path.name, corpus=corpus).document.pk)
    locked_doc, truncated_doc, good_doc = wait_until_settled(ids)
    assert locked_doc.status == truncated_doc.status == Document.Status.FAILED
    assert "password" in locked_doc.error
    assert "damaged" in truncated_doc.error
    assert good_doc.status == Document.Status.READY
    assert celery_worker.is_alive()


def test_a_document_over_the_time_limit_ends_failed_with_a_message(worker_env, tmp_path, monkeypatch):
    # A worker of its own, on a queue of its own, so the session's worker cannot take the document.
    queue = f"slow-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    env = {**worker_env, "INGEST_TIME_LIMIT": "3", "CELERY_TASK_DEFAULT_QUEUE": queue}
    worker = start_worker(tmp_path / "slow-worker.log", env)
    try:
        corpus = services.create_corpus(name="Slow")
        pdf = make_pdf(tmp_path / "long.pdf", pages=long_pages(150))
        with open(pdf, "rb") as f:
            document = services.accept_upload(file=f, name="long.pdf", corpus=corpus).document
        (document,) = wait_until_settled([document.pk], timeout=120)
        assert document.status == Document.Status.FAILED
        assert "took longer than" in document.error
        assert document.chunks.count() == 0
        assert worker.is_alive()
    finally:
        stop_worker(worker)


def test_an_empty_upload_and_a_good_one_side_by_side(celery_worker):
    corpus = services.create_corpus(name="Mixed")
    empty = services.accept_upload(file=SimpleUploadedFile("e.txt", b""), name="e.txt", corpus=corpus).document
    good = services.accept_upload(
        file=SimpleUploadedFile("g.txt", b"Harbour cranes lift containers."), name="g.txt", corpus=corpus
    ).document
    empty, good = wait_until_settled([empty.pk, good.pk])
    assert empty.error == "The file is empty."
    assert good.status == Document.Status.READY


def test_without_redis_the_filesystem_broker_carries_the_work(worker_env, data_dir, tmp_path):
    # The fallback `make run` uses when no Redis can be found or started.
    for folder in ("queue", "processed", "control"):
        (data_dir / "broker" / folder).mkdir(parents=True, exist_ok=True)
    env = {**worker_env, "CELERY_BROKER_URL": "filesystem://localhost//"}
    worker = start_worker(tmp_path / "fs-worker.log", env)
    try:
        pdf = make_pdf(tmp_path / "files.pdf", pages=["Carried by files on disk instead of Redis."])
        result = subprocess.run(
            [sys.executable, "manage.py", "ingest", "--corpus", "files", "--create", "--wait", "--timeout", "120",
             str(pdf)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr + worker.log()[-2000:]
        assert "files.pdf: ready" in result.stdout
        assert Document.objects.get(original_name="files.pdf").status == Document.Status.READY
        assert not (ROOT / "control").exists(), "the broker wrote outside the data folder"
    finally:
        stop_worker(worker)


def test_a_pool_process_killed_mid_document_is_replaced_and_the_document_finished(celery_worker, tmp_path):
    corpus = services.create_corpus(name="Killed")
    pdf = make_pdf(tmp_path / "long.pdf", pages=long_pages(120))
    with open(pdf, "rb") as f:
        document = services.accept_upload(file=f, name="long.pdf", corpus=corpus).document
    deadline = time.monotonic() + 120
    while Document.objects.get(pk=document.pk).status != Document.Status.EMBEDDING:
        assert time.monotonic() < deadline, "the document never started embedding"
        time.sleep(0.1)
    (child,) = psutil.Process(celery_worker.process.pid).children()
    child.kill()  # as the kernel's out-of-memory killer would

    (document,) = wait_until_settled([document.pk], timeout=180)
    assert document.status == Document.Status.READY, document.error
    assert document.attempts == 2
    assert document.chunks.count() == document.chunks_total
    assert corpus_index.store_for(corpus.pk).meta()["count"] == document.chunks_total
    assert celery_worker.is_alive()


def test_a_document_deleted_while_it_is_being_embedded_is_gone_and_the_worker_carries_on(celery_worker, tmp_path):
    corpus = services.create_corpus(name="Deleted midway")
    with open(make_pdf(tmp_path / "long.pdf", pages=long_pages(120)), "rb") as f:
        document = services.accept_upload(file=f, name="long.pdf", corpus=corpus).document
    deadline = time.monotonic() + 120
    while Document.objects.get(pk=document.pk).status != Document.Status.EMBEDDING:
        assert time.monotonic() < deadline, "the document never started embedding"
        time.sleep(0.1)
    stored = document.file.path
    services.delete_document(Document.objects.get(pk=document.pk))

    # The worker notices, stops, and takes the next document.
    with open(make_pdf(tmp_path / "next.pdf", pages=["The next document after a deleted one."]), "rb") as f:
        following = services.accept_upload(file=f, name="next.pdf", corpus=corpus).document
    (following,) = wait_until_settled([following.pk], timeout=180)
    assert following.status == Document.Status.READY, following.error
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Chunk.objects.filter(document_id=document.pk).exists()
    assert not Path(stored).exists()
    # The index holds the following document's passages and nothing of the deleted one.
    assert corpus_index.store_for(corpus.pk).meta()["count"] == following.chunks_total
    assert celery_worker.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice values per thread are Linux's")
def test_the_workers_pool_processes_run_at_a_lower_cpu_priority_than_the_web(celery_worker, settings):
    children = psutil.Process(celery_worker.process.pid).children()
    assert children, "the worker has no pool process"
    for child in children:
        assert child.nice() == min(19, psutil.Process().nice() + settings.WORKER_NICENESS)
