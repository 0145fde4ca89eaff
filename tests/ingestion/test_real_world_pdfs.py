"""Every real-world PDF in ../shared/eval/pdfs through a real worker: each ends ready or failed, none stuck."""

import pytest

from ingestion import services
from ingestion.models import Document
from qa import services as qa_services

from ..conftest import SHARED, wait_until_settled

PDFS = SHARED / "eval" / "pdfs"

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not PDFS.is_dir(), reason=f"{PDFS} is not here (it is in CI); real-world PDFs not tested"),
]

# What the set's README says a reader should do with its encrypted files.
NEEDS_A_PASSWORD = {
    "pypdf_enc_r4-aes-user-password.pdf",
    "pypdf_enc_r6-both-passwords.pdf",
    "pypdf_crazyones-encrypted-256.pdf",
    "sf_005_libreoffice-password.pdf",
}
OPENS_WITHOUT_ONE = {
    "pypdf_enc_r2-empty-password.pdf",
    "pypdf_enc_r5-owner-password.pdf",
    "pypdf_enc_r6-user-password.pdf",
}
NOT_A_PDF = {"qpdf_bad1-not-a-pdf.pdf", "qpdf_bad-content.pdf", "qpdf_bad2-no-startxref.pdf"}
# Photographs and a blank fax page: read by OCR, which finds no words in them.
NO_WORDS = {"sf_019_grayscale-image.pdf", "sf_023_cmyk-image.pdf", "sf_007_imagemagick-CCITTFax.pdf"}
# Pages whose words are only in their pictures, or whose text layer is garbage, and what OCR reads there.
READ_BY_OCR = {
    "sf_018_base64image-annotated.pdf": "fix the issue and close it",  # a caption drawn into a photograph
    "pdfjs_vertical-japanese.pdf": "日本語",  # vertical Japanese that pypdf extracts as garbage
    "pypdf_encrypted_doc_no_id.pdf": "WO 2003/036426",  # a scanned patent page without a text layer
}


@pytest.mark.timeout(1200)
def test_every_real_world_pdf_ends_ready_or_failed_with_a_message(celery_worker, settings):
    corpus = services.create_corpus(name="Real-world PDFs")
    ids = []
    for path in sorted(PDFS.glob("*.pdf")):
        with open(path, "rb") as f:
            ids.append(services.accept_upload(file=f, name=path.name, corpus=corpus).document.pk)
    documents = {document.original_name: document for document in wait_until_settled(ids, timeout=900)}

    assert len(documents) == len(ids) >= 40
    for name, document in documents.items():
        if document.status == Document.Status.READY:
            assert document.chunks.exclude(vector=None).count() == document.chunks_total > 0, name
        else:
            assert document.status == Document.Status.FAILED, name
            assert len(document.error) > 20, name
    for name in NEEDS_A_PASSWORD:
        assert "password" in documents[name].error, name
    # These three hold the same text (pypdf's sample, encrypted three ways): the first to be read is ready,
    # the others are refused as its duplicates.
    for name in OPENS_WITHOUT_ONE:
        document = documents[name]
        assert document.status == Document.Status.READY or "has the same text" in document.error, (name, document.error)
    assert any(documents[name].status == Document.Status.READY for name in OPENS_WITHOUT_ONE)
    for name in NOT_A_PDF:
        assert documents[name].status == Document.Status.FAILED, name
    for name in NO_WORDS:
        assert documents[name].error.startswith("No text could be found"), name
        assert documents[name].ocr_pages_total == 1, name
    for name, words in READ_BY_OCR.items():
        document = documents[name]
        assert document.status == Document.Status.READY, (name, document.error)
        assert document.chunks.filter(is_ocr=True, text__contains=words).exists(), name
    # Its text layer is OCR garbage over graph paper: dropped, and the page holds no words.
    assert documents["pypdf_issue-301-scan-garbage-ocr.pdf"].error.startswith("No text could be found")
    assert documents["sf_009_GeoTopo-117-pages.pdf"].pages_total == 117
    assert documents["pdfjs_tracemonkey.pdf"].status == Document.Status.READY
    assert celery_worker.is_alive()

    # A question answered from a scan of the set: its words are only in a picture.
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    answer = qa_services.ask("After you assign a ticket to yourself and fix the issue, what do you do?", [corpus])
    source = answer.citations.get().source
    assert "close it" in answer.text
    assert (source.document.original_name, source.page, source.is_ocr) == ("sf_018_base64image-annotated.pdf", 1, True)
    assert source.chunk.regions  # the viewer marks its lines on the page
