"""Scanned PDFs and pictures through the pipeline (in the test process, with its sandboxes): read by OCR,
their passages marked as such and placed on their pages, and answering questions."""

import pytest
from django.template.loader import render_to_string

from ingestion import pipeline, sandbox
from ingestion.models import Document
from ingestion.tasks import ingest
from qa import services
from testkit.documents import make_pdf
from testkit.scans import draw_page, save_scan

Status = Document.Status
HARBOUR = "The harbour master keeps the tide tables in a blue ledger beside the lamp room door."
CODE_WORD = "The code word on page two is dahlia. It was changed after the storm of the previous winter."


def ingested(document: Document) -> Document:
    ingest(document.pk)
    document.refresh_from_db()
    return document


def test_a_scanned_pdf_is_read_by_ocr_and_its_passages_say_so_and_where_they_are(upload, tmp_path):
    pages = [draw_page([HARBOUR], dpi=150), draw_page([CODE_WORD], dpi=150)]
    document = ingested(upload(save_scan(tmp_path / "scan.pdf", pages, dpi=150)))
    assert document.status == Status.READY, document.error
    assert (document.ocr_pages_total, document.ocr_pages_done, document.pages_done) == (2, 2, 2)
    chunks = list(document.chunks.order_by("ordinal"))
    assert [chunk.page for chunk in chunks] == [1, 2]
    assert all(chunk.is_ocr and chunk.regions for chunk in chunks)
    assert "code word on page two is dahlia" in chunks[1].text
    x0, y0, x1, y1 = chunks[1].regions[0]
    assert 0 < x0 < x1 < 1
    assert 0 < y0 < y1 < 0.2  # the paragraph's first line, near the top
    assert "OCR" not in document.warning


def test_the_ocr_child_is_stopped_once_the_document_is_read(upload, tmp_path):
    ingested(upload(save_scan(tmp_path / "scan.pdf", [draw_page([HARBOUR], dpi=100)], dpi=100)))
    assert pipeline.OCR_SANDBOX not in sandbox._sandboxes


def test_a_question_over_a_scan_is_answered_from_its_page_and_the_source_says_ocr(
    corpus, upload, tmp_path, settings, client, django_user_model
):
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    pages = [draw_page([HARBOUR], dpi=150), draw_page([CODE_WORD], dpi=150)]
    ingested(upload(save_scan(tmp_path / "scan.pdf", pages, dpi=150)))
    answer = services.ask("Which code word is on page two?", [corpus])
    source = answer.citations.get().source
    assert "dahlia" in answer.text
    assert source.page == 2
    assert source.is_ocr
    client.force_login(django_user_model.objects.create_user(username="reader", is_staff=True))
    html = client.get(answer.get_absolute_url()).content.decode()
    assert "read from a scan (OCR)" in html
    viewer = client.get(source.url).content.decode()
    assert 'id="cited-regions"' in viewer
    assert f"[[{source.chunk.regions[0][0]}" in viewer


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_a_picture_of_a_page_becomes_a_document(upload, tmp_path, suffix):
    document = ingested(upload(save_scan(tmp_path / f"notice{suffix}", [draw_page([HARBOUR], dpi=150)], dpi=150)))
    assert document.status == Status.READY, document.error
    assert document.file_type == "image"
    assert document.pages_total == 1
    assert "blue ledger" in document.chunks.get().text


def test_a_damaged_picture_fails_with_a_plain_message(upload, tmp_path):
    broken = tmp_path / "photo.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    document = ingested(upload(broken))
    assert document.status == Status.FAILED
    assert document.error.startswith("This picture could not be read")


def test_a_picture_without_words_fails_saying_so(upload, tmp_path):
    from PIL import Image

    blank = tmp_path / "sky.png"
    Image.new("L", (800, 600), 200).save(blank)
    document = ingested(upload(blank))
    assert document.status == Status.FAILED
    assert document.error.startswith("No text could be found in this picture")


def test_a_pdf_with_a_text_layer_is_not_read_by_ocr(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "typed.pdf", pages=[HARBOUR, CODE_WORD])))
    assert document.status == Status.READY
    assert document.ocr_pages_total == 0
    assert not document.chunks.filter(is_ocr=True).exists()


def test_the_row_of_a_document_being_read_by_ocr_names_the_page(upload, tmp_path):
    document = upload(make_pdf(tmp_path / "any.pdf", pages=["x"]))
    document.status, document.pages_total, document.ocr_pages_total, document.ocr_pages_done = "parsing", 12, 12, 2
    html = render_to_string("ingestion/_document_row.html", {"document": document})
    assert "OCR, page 3 of 12" in html
    assert document.progress_percent == 0  # no page finished yet
    document.pages_done = 6
    assert document.progress_percent == 40  # reading scans is most of the work


def test_a_picture_opens_in_the_browser_with_the_cited_passage_marked_on_it(
    upload, tmp_path, client, django_user_model
):
    document = ingested(upload(save_scan(tmp_path / "notice.png", [draw_page([HARBOUR], dpi=150)], dpi=150)))
    chunk = document.chunks.get()
    client.force_login(django_user_model.objects.create_user(username="reader", is_staff=True))
    html = client.get(f"{document.get_absolute_url()}?passage={chunk.pk}").content.decode()
    assert 'class="image-page"' in html
    x0, y0, _, _ = chunk.regions[0]
    assert f'<div class="region-highlight" style="left: {x0:.2%}; top: {y0:.2%};' in html
    response = client.get(f"/documents/{document.pk}/file/")
    assert response["Content-Type"] == "image/png"
    assert "attachment" not in response["Content-Disposition"]
    assert response["Content-Security-Policy"].startswith("sandbox")


def test_a_tiff_is_not_drawn_but_its_text_is_shown(upload, tmp_path, client, django_user_model):
    document = ingested(upload(save_scan(tmp_path / "notice.tif", [draw_page([HARBOUR], dpi=100)], dpi=100)))
    client.force_login(django_user_model.objects.create_user(username="reader", is_staff=True))
    html = client.get(document.get_absolute_url()).content.decode()
    assert 'class="image-page"' not in html
    assert "blue ledger" in html
    assert "attachment" in client.get(f"/documents/{document.pk}/file/")["Content-Disposition"]
