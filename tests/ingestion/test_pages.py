"""The corpus page's JSON uploads, the document view and the file behind it."""

import hashlib
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.models import Document

from ..documents import make_pdf

JSON = {"HTTP_ACCEPT": "application/json"}


def upload_json(client, corpus, *files):
    return client.post(reverse("ingestion:upload", args=[corpus.slug]), {"files": list(files)}, **JSON)


def test_an_upload_asking_for_json_gets_each_files_outcome_and_its_rendered_row(staff_client, corpus, tmp_path):
    data = make_pdf(tmp_path / "a.pdf", pages=["Hello there."]).read_bytes()
    response = upload_json(staff_client, corpus, SimpleUploadedFile("a.pdf", data))
    assert response.status_code == 200
    (result,) = response.json()["results"]
    document = Document.objects.get()
    assert result["outcome"] == "uploaded"
    assert result["document_id"] == document.pk
    assert f'data-document-id="{document.pk}"' in result["row"]
    assert 'data-status="queued"' in result["row"]


def test_a_duplicate_upload_in_json_says_so_and_has_no_row(staff_client, corpus, tmp_path):
    data = make_pdf(tmp_path / "a.pdf", pages=["Hello there."]).read_bytes()
    upload_json(staff_client, corpus, SimpleUploadedFile("a.pdf", data))
    (result,) = upload_json(staff_client, corpus, SimpleUploadedFile("copy.pdf", data)).json()["results"]
    assert result["outcome"] == "duplicate"
    assert "already in this corpus" in result["message"]
    assert "row" not in result
    assert Document.objects.count() == 1


def test_a_file_over_the_limit_in_json_is_a_plain_error(staff_client, corpus, settings):
    settings.UPLOAD_MAX_BYTES = 10
    response = upload_json(staff_client, corpus, SimpleUploadedFile("big.txt", b"x" * 11))
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert not Document.objects.exists()


def test_a_file_name_with_markup_is_escaped_in_the_json_row(staff_client, corpus):
    name = "<img src=x onerror=alert(1)>.txt"
    (result,) = upload_json(staff_client, corpus, SimpleUploadedFile(name, b"Some text.")).json()["results"]
    assert "<img src=x" not in result["row"]
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in result["row"]


def test_a_pdf_is_served_inline_as_a_pdf(staff_client, upload, five_page_pdf):
    document = upload(five_page_pdf)
    response = staff_client.get(reverse("ingestion:document_file", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content) == five_page_pdf.read_bytes()


def test_an_uploaded_html_file_is_only_ever_a_download(staff_client, upload, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><script>alert(1)</script><p>Hello</p></body></html>")
    document = upload(page)
    response = staff_client.get(reverse("ingestion:document_file", args=[document.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_file_of_a_document_is_hidden_from_a_user_who_may_not_read_its_corpus(
    client, django_user_model, upload, five_page_pdf
):
    document = upload(five_page_pdf)
    client.force_login(django_user_model.objects.create_user(username="visitor", password="x"))
    assert client.get(reverse("ingestion:document_file", args=[document.pk])).status_code == 404


def test_a_cited_pdf_passage_opens_the_viewer_at_its_page(staff_client, field_notes):
    document = field_notes.documents.get()
    chunk = document.chunks.get(page=4)
    response = staff_client.get(document.get_absolute_url() + f"?passage={chunk.pk}")
    html = response.content.decode()
    assert 'data-page="4"' in html
    assert 'id="pdf-viewer"' in html
    assert "The cited passage, page 4" in html
    cited = json.loads(html.split('<script id="cited-passage" type="application/json">')[1].split("</script>")[0])
    assert cited == chunk.text


def test_a_text_document_has_no_pdf_viewer_and_marks_the_cited_passage(staff_client, upload, tmp_path):
    from ingestion.tasks import ingest

    notes = tmp_path / "notes.txt"
    notes.write_text("Valves must be closed before the pump is serviced. <b>Gloves</b> are required.")
    document = upload(notes)
    ingest(document.pk)
    chunk = document.chunks.get()
    html = staff_client.get(document.get_absolute_url() + f"?passage={chunk.pk}").content.decode()
    assert "pdf-viewer" not in html
    assert f'id="chunk-{chunk.pk}" value="1" class="cited"' in html
    assert "&lt;b&gt;Gloves&lt;/b&gt;" in html


def test_the_page_can_ask_whether_a_file_is_already_in_the_corpus(staff_client, corpus, upload, five_page_pdf):
    document = upload(five_page_pdf)
    url = reverse("ingestion:corpus_duplicate", args=[corpus.slug])
    known = staff_client.get(url, {"sha256": hashlib.sha256(five_page_pdf.read_bytes()).hexdigest()}).json()
    assert known == {
        "duplicate": True,
        "document_id": document.pk,
        "title": "field-notes.pdf",  # its own title is read later, by the worker
        "url": document.get_absolute_url(),
    }
    assert staff_client.get(url, {"sha256": "0" * 64}).json() == {"duplicate": False}
    assert staff_client.get(url, {"sha256": "not-a-digest"}).status_code == 400


def test_a_passage_or_status_id_that_is_not_a_plain_number_is_ignored(staff_client, corpus, upload, five_page_pdf):
    document = upload(five_page_pdf)
    assert staff_client.get(document.get_absolute_url() + "?passage=²").status_code == 200
    status = staff_client.get(reverse("ingestion:corpus_status", args=[corpus.slug]), {"ids": "²,x"})
    assert status.json() == {"rows": {}, "active": False}


def test_a_corpus_form_error_keeps_the_document_counts_of_the_others(staff_client, upload, five_page_pdf):
    upload(five_page_pdf)
    html = staff_client.post(reverse("ingestion:create_corpus"), {"name": ""}).content.decode()
    assert "0 of 1 document ready" in html
