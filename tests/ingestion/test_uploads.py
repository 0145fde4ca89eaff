import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from ingestion import services, tasks
from ingestion.models import Document
from testkit.documents import make_pdf

BROWSER_FORM_POST = "text/html,application/xhtml+xml,*/*;q=0.8"  # what a browser asks for


def pdf_bytes(tmp_path: Path, text: str = "Hello there.") -> bytes:
    return make_pdf(tmp_path / "x.pdf", pages=[text]).read_bytes()


def upload_files(client, corpus, *files):
    return client.post(reverse("ingestion:upload", args=[corpus.slug]), {"files": list(files)}, follow=True)


def test_a_stored_file_is_never_named_after_the_users_path(staff_client, corpus, tmp_path, settings):
    data = pdf_bytes(tmp_path)  # once: a PDF made a second later carries another timestamp
    upload_files(staff_client, corpus, SimpleUploadedFile("../../etc/evil name.pdf", data))
    document = Document.objects.get()
    assert document.original_name == "evil name.pdf"
    assert re.fullmatch(rf"corpora/{corpus.pk}/{document.sha256[:16]}-[0-9a-f]{{12}}\.pdf", document.file.name)
    stored = Path(document.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert stored.read_bytes() == data


def test_the_same_file_twice_makes_one_document(staff_client, corpus, tmp_path):
    data = pdf_bytes(tmp_path)
    upload_files(staff_client, corpus, SimpleUploadedFile("a.pdf", data))
    response = upload_files(staff_client, corpus, SimpleUploadedFile("copy of a.pdf", data))
    assert Document.objects.count() == 1
    assert "copy of a.pdf is already in this corpus" in response.content.decode()


def test_the_same_file_in_two_corpora_makes_two_documents(corpus, tmp_path):
    other = services.create_corpus(name="Other")
    data = pdf_bytes(tmp_path)
    for target in (corpus, other):
        services.accept_upload(file=SimpleUploadedFile("a.pdf", data), name="a.pdf", corpus=target)
    assert Document.objects.count() == 2


def test_an_unsupported_file_fails_at_once_with_a_message(staff_client, corpus):
    upload_files(staff_client, corpus, SimpleUploadedFile("data.bin", bytes(range(256)) * 10))
    document = Document.objects.get()
    assert document.status == Document.Status.FAILED
    assert "We can read PDF" in document.error
    page = staff_client.get(corpus.get_absolute_url()).content.decode()
    assert "We can read PDF" in page


def test_an_empty_file_fails_with_a_message(corpus):
    result = services.accept_upload(file=SimpleUploadedFile("empty.txt", b""), name="empty.txt", corpus=corpus)
    assert result.document.status == Document.Status.FAILED
    assert result.document.error == "The file is empty."


def test_many_files_at_once_are_uploaded_together(staff_client, corpus, tmp_path):
    files = [SimpleUploadedFile(f"{n}.pdf", pdf_bytes(tmp_path, f"Document number {n}.")) for n in range(3)]
    upload_files(staff_client, corpus, *files)
    assert sorted(Document.objects.values_list("original_name", flat=True)) == ["0.pdf", "1.pdf", "2.pdf"]


def test_more_files_than_the_limit_is_a_form_error(staff_client, corpus, settings):
    settings.UPLOAD_MAX_FILES = 2
    files = [SimpleUploadedFile(f"{n}.txt", f"text {n}".encode()) for n in range(3)]
    response = staff_client.post(reverse("ingestion:upload", args=[corpus.slug]), {"files": files})
    assert response.status_code == 400
    assert "at most 2 files at a time; you chose 3" in response.content.decode()
    assert not Document.objects.exists()


def test_a_file_over_the_size_limit_is_a_form_error(staff_client, corpus, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    files = [SimpleUploadedFile("big.txt", b"x" * 2000), SimpleUploadedFile("small.txt", b"fine")]
    response = staff_client.post(reverse("ingestion:upload", args=[corpus.slug]), {"files": files})
    assert response.status_code == 413
    assert "big.txt (2.0\xa0KB)" in response.content.decode()
    assert not Document.objects.exists()


def test_an_unwritable_data_folder_gives_a_clear_error_and_no_document(staff_client, corpus, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the upload folder should be")
    settings.MEDIA_ROOT = blocker
    response = upload_files(staff_client, corpus, SimpleUploadedFile("a.txt", b"some text"))
    assert "could not store this file" in response.content.decode()
    assert not Document.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_upload_puts_one_message_on_the_queue_after_commit(staff_client, broker_url, tmp_path, monkeypatch):
    queue = f"unconsumed-{uuid.uuid4().hex[:8]}"  # no worker listens here
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    corpus = services.create_corpus(name="Queue check")
    upload_files(staff_client, corpus, SimpleUploadedFile("a.pdf", pdf_bytes(tmp_path)))
    client = redis.Redis.from_url(broker_url)
    try:
        assert client.llen(queue) == 1
    finally:
        client.delete(queue)


def test_a_corpus_is_hidden_from_a_user_who_is_not_a_member(client, django_user_model, corpus):
    user = django_user_model.objects.create_user(username="outsider", password="pw-for-tests-only")
    client.force_login(user)
    assert client.get(corpus.get_absolute_url()).status_code == 404
    assert client.post(reverse("ingestion:upload", args=[corpus.slug])).status_code == 404


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, corpus):
    response = client.get(corpus.get_absolute_url())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_status_view_returns_each_row_rendered(staff_client, corpus, upload, five_page_pdf):
    document = upload(five_page_pdf)
    url = reverse("ingestion:corpus_status", args=[corpus.slug])
    data = staff_client.get(url, {"ids": f"{document.pk},999999,x"}).json()
    assert list(data["rows"]) == [str(document.pk)]
    assert data["active"] is True
    assert f'data-document-id="{document.pk}"' in data["rows"][str(document.pk)]
    assert "Queued" in data["rows"][str(document.pk)]


def test_a_failed_document_can_be_retried(staff_client, corpus):
    document = services.accept_upload(file=SimpleUploadedFile("a.txt", b"text"), name="a.txt", corpus=corpus).document
    Document.objects.filter(pk=document.pk).update(error="It took too long.", status=Document.Status.FAILED)
    page = staff_client.get(corpus.get_absolute_url()).content.decode()
    assert reverse("ingestion:retry", args=[document.pk]) in page
    staff_client.post(reverse("ingestion:retry", args=[document.pk]))
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED
    assert document.error == ""


def test_an_unsupported_file_offers_no_retry(staff_client, corpus):
    document = services.accept_upload(file=SimpleUploadedFile("x.bin", bytes(range(256))), name="x.bin", corpus=corpus)
    page = staff_client.get(corpus.get_absolute_url()).content.decode()
    assert reverse("ingestion:retry", args=[document.document.pk]) not in page


def test_a_document_title_with_markup_is_shown_as_text(staff_client, corpus, tmp_path):
    upload_files(staff_client, corpus, SimpleUploadedFile("<img src=x onerror=alert(1)>.txt", b"hello"))
    page = staff_client.get(corpus.get_absolute_url()).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page


@pytest.mark.django_db(transaction=True)
def test_lost_and_stalled_documents_are_sent_to_the_queue_again(broker_url, tmp_path, monkeypatch):
    queue = f"unconsumed-{uuid.uuid4().hex[:8]}"  # no worker listens here; it starts empty
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    corpus = services.create_corpus(name="Sweep")
    lost = services.accept_upload(file=SimpleUploadedFile("a.txt", b"lost"), name="a.txt", corpus=corpus).document
    stalled = services.accept_upload(file=SimpleUploadedFile("b.txt", b"stalled"), name="b.txt", corpus=corpus).document
    fresh = services.accept_upload(file=SimpleUploadedFile("c.txt", b"fresh"), name="c.txt", corpus=corpus).document
    client = redis.Redis.from_url(broker_url)
    client.delete(queue)  # as after a broker restart: the messages are gone
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Document.objects.filter(pk=lost.pk).update(queued_at=an_hour_ago)
    Document.objects.filter(pk=stalled.pk).update(
        status=Document.Status.PARSING, queued_at=an_hour_ago, heartbeat_at=an_hour_ago
    )
    try:
        first = tasks.sweep_lost_documents()
        assert sorted(first) == sorted([lost.pk, stalled.pk])
        assert fresh.pk not in first  # queued a moment ago: its message is not lost
        assert client.llen(queue) == 2
        Document.objects.filter(pk=lost.pk).update(queued_at=an_hour_ago)
        # The queue holds messages now, so a long-queued document is not lost; a stalled
        # one was sent a moment ago and is not sent again yet.
        assert tasks.sweep_lost_documents() == []
        assert client.llen(queue) == 2
    finally:
        client.delete(queue)


def test_the_admin_saves_only_the_fields_it_edits(admin_client, corpus):
    document = services.accept_upload(file=SimpleUploadedFile("a.txt", b"x"), name="a.txt", corpus=corpus).document
    form_loaded_while_queued = {"title": "Edited", "source_url": "", "document_date": ""}
    # Meanwhile a worker moves the document on.
    Document.objects.filter(pk=document.pk).update(status=Document.Status.EMBEDDING, chunks_done=5)
    admin_client.post(reverse("admin:ingestion_document_change", args=[document.pk]), form_loaded_while_queued)
    document.refresh_from_db()
    assert (document.title, document.status, document.chunks_done) == ("Edited", "embedding", 5)


def test_staff_can_edit_a_documents_title_and_date_in_the_admin(admin_client, corpus):
    document = services.accept_upload(file=SimpleUploadedFile("a.txt", b"x"), name="a.txt", corpus=corpus).document
    url = reverse("admin:ingestion_document_change", args=[document.pk])
    form = {"title": "Board minutes", "source_url": "https://example.org/minutes", "document_date": "2024-03-01"}
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    document.refresh_from_db()
    assert (document.title, str(document.document_date)) == ("Board minutes", "2024-03-01")


def test_the_embedding_model_of_an_existing_corpus_cannot_be_changed_in_the_admin(admin_client, corpus):
    page = admin_client.get(reverse("admin:ingestion_corpus_change", args=[corpus.pk])).content.decode()
    assert 'name="embedding_model"' not in page
    assert "all-MiniLM-L6-v2" in page


def test_too_many_files_for_django_gets_a_plain_page_not_a_bare_error(staff_client, corpus, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    settings.DEBUG = False
    files = [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(5)]
    url = reverse("ingestion:upload", args=[corpus.slug])
    response = staff_client.post(url, {"files": files}, HTTP_ACCEPT=BROWSER_FORM_POST)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "too many files at once" in response.content.decode()
    assert not Document.objects.exists()


def test_an_upload_declared_larger_than_the_limit_is_refused_before_its_body_is_read(staff_client, corpus, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    settings.UPLOAD_MAX_FILES = 2
    url = reverse("ingestion:upload", args=[corpus.slug])
    response = staff_client.post(
        url, {"files": [SimpleUploadedFile("a.txt", b"small")]}, CONTENT_LENGTH="5000000", HTTP_ACCEPT=BROWSER_FORM_POST
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "nothing was uploaded" in response.content.decode()
    as_json = staff_client.post(url, {}, CONTENT_LENGTH="5000000", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 413
    assert "larger than" in as_json.json()["detail"]
    assert not Document.objects.exists()
