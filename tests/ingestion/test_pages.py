"""The corpus page's uploads (its script sends them to the API and asks the page for each new row), the
document view and the file behind it."""

import hashlib
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.models import Document
from testkit.documents import make_pdf

JSON = {"HTTP_ACCEPT": "application/json"}


def upload_json(client, corpus, *files):
    """As the corpus page's script uploads: to the API, with the session."""
    return client.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": list(files)}, **JSON)


def row_of(client, corpus, document_id: int) -> str:
    """The rendered row the page's script asks for after an upload."""
    url = reverse("ingestion:corpus_status", args=[corpus.slug])
    return client.get(url, {"ids": str(document_id)}).json()["rows"][str(document_id)]


def test_an_upload_from_the_page_gets_each_files_outcome_and_then_its_rendered_row(staff_client, corpus, tmp_path):
    data = make_pdf(tmp_path / "a.pdf", pages=["Hello there."]).read_bytes()
    response = upload_json(staff_client, corpus, SimpleUploadedFile("a.pdf", data))
    assert response.status_code == 200
    (result,) = response.json()["results"]
    document = Document.objects.get()
    assert result["outcome"] == "uploaded"
    assert result["document"]["id"] == document.pk
    row = row_of(staff_client, corpus, document.pk)
    assert f'data-document-id="{document.pk}"' in row
    assert 'data-status="queued"' in row


def test_a_duplicate_upload_from_the_page_names_the_document_it_duplicates(staff_client, corpus, tmp_path):
    data = make_pdf(tmp_path / "a.pdf", pages=["Hello there."]).read_bytes()
    upload_json(staff_client, corpus, SimpleUploadedFile("a.pdf", data))
    (result,) = upload_json(staff_client, corpus, SimpleUploadedFile("copy.pdf", data)).json()["results"]
    assert result["outcome"] == "duplicate"
    assert result["document"]["id"] == Document.objects.get().pk
    assert result["document"]["title"] == "a"
    assert Document.objects.count() == 1


def test_a_duplicate_upload_without_the_pages_script_says_so_on_the_page(staff_client, corpus, tmp_path):
    data = make_pdf(tmp_path / "a.pdf", pages=["Hello there."]).read_bytes()
    url = reverse("ingestion:upload", args=[corpus.slug])
    staff_client.post(url, {"files": [SimpleUploadedFile("a.pdf", data)]})
    html = staff_client.post(url, {"files": [SimpleUploadedFile("copy.pdf", data)]}, follow=True).content.decode()
    assert "copy.pdf is already in this corpus as “a”; not added again." in html
    assert Document.objects.count() == 1


def test_a_file_over_the_limit_from_the_page_is_a_plain_error(staff_client, corpus, settings):
    settings.UPLOAD_MAX_BYTES = 10
    response = upload_json(staff_client, corpus, SimpleUploadedFile("big.txt", b"x" * 11))
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert not Document.objects.exists()


def test_a_file_name_with_markup_is_escaped_in_the_rendered_row(staff_client, corpus):
    name = "<img src=x onerror=alert(1)>.txt"
    (result,) = upload_json(staff_client, corpus, SimpleUploadedFile(name, b"Some text.")).json()["results"]
    row = row_of(staff_client, corpus, result["document"]["id"])
    assert "<img src=x" not in row
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in row


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
    url = f"/api/v1/corpora/{corpus.slug}/documents"
    known = staff_client.get(url, {"sha256": hashlib.sha256(five_page_pdf.read_bytes()).hexdigest()}).json()
    assert known["count"] == 1
    (found,) = known["items"]
    assert (found["id"], found["title"]) == (document.pk, "field-notes")  # its own title is read later
    assert found["page_url"].endswith(document.get_absolute_url())
    assert staff_client.get(url, {"sha256": "0" * 64}).json() == {"items": [], "count": 0}
    assert staff_client.get(url, {"sha256": "not-a-digest"}).status_code == 422


def test_a_passage_or_status_id_that_is_not_a_plain_number_is_ignored(staff_client, corpus, upload, five_page_pdf):
    document = upload(five_page_pdf)
    assert staff_client.get(document.get_absolute_url() + "?passage=²").status_code == 200
    status = staff_client.get(reverse("ingestion:corpus_status", args=[corpus.slug]), {"ids": "²,x"})
    assert status.json() == {"rows": {}, "active": False}


def test_a_corpus_form_error_keeps_the_document_counts_of_the_others(staff_client, upload, five_page_pdf):
    upload(five_page_pdf)
    html = staff_client.post(reverse("ingestion:create_corpus"), {"name": ""}).content.decode()
    assert "0 of 1 document ready" in html
