"""Citations land on the passage in real-world PDFs: for passages sampled from every PDF of
../shared/eval/pdfs that ingests, the viewer opens at the passage's page and finds it there. Scanned and
CJK PDFs are drawn, not left blank."""

import io
import random

import pytest
from PIL import Image
from playwright.sync_api import expect

from ingestion import services
from ingestion.models import Document

from ..conftest import SHARED

PDFS = SHARED / "eval" / "pdfs"
SAMPLES_PER_PDF = 6
# Measured 84 of 91 (0.92). The misses: text pypdf reads as garbage (vertical Japanese), an OCR
# layer of a rotated scan, one-word image captions PDF.js does not see as text, and a PDF that
# PDF.js will not open without its user password (it falls back to the passages as text).
LOCATED_AT_LEAST = 0.85

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not PDFS.is_dir(), reason=f"{PDFS} is not here (it is in CI); real-world PDFs not tested"),
]


def test_sampled_passages_of_real_world_pdfs_are_found_and_highlighted_on_their_page(session, ingested):
    corpus = services.create_corpus(name="Real-world PDFs")
    documents = ingested(corpus, *sorted(PDFS.glob("*.pdf")))
    page = session.page
    located, missed = 0, []
    for document in documents:
        if document.status != Document.Status.READY:
            continue
        chunks = list(document.chunks.order_by("ordinal"))
        for chunk in random.Random(document.pk).sample(chunks, min(SAMPLES_PER_PDF, len(chunks))):
            session.open(f"{document.get_absolute_url()}?passage={chunk.pk}#page={chunk.page}")
            page.wait_for_function(
                "() => /highlighted|could not|cannot|password/.test(document.getElementById('pdf-status').textContent)"
            )
            # A passage read by OCR is marked by boxes where its lines are, not in the text layer.
            marks = ".textLayer .highlight" if not chunk.is_ocr else ".region-highlight"
            on_page = page.locator(f'.pdf-page[data-page-number="{chunk.page}"] {marks}')
            if on_page.count():
                located += 1
            else:
                missed.append(f"{document.original_name} p.{chunk.page}: {chunk.text[:60]!r}")
    total = located + len(missed)
    assert total > 50
    assert located / total >= LOCATED_AT_LEAST, f"located {located} of {total}; missed:\n" + "\n".join(missed)


def ink_share(png: bytes) -> float:
    """The share of a screenshot's pixels that are not (nearly) white."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return sum(count for level, count in enumerate(image.histogram()) if level < 200) / (image.width * image.height)


# The share of a page's pixels with ink when drawn (measured: 0.156, 0.0064, 0.0047). Without the decoders
# the scan drew 0.0018 (blank); without the character maps the two others were not drawn at all.
@pytest.mark.parametrize(
    ("name", "least_ink"),
    [
        ("pypdf_Siege_of_Vicksburg_OCR-6p.pdf", 0.05),  # scanned pages: images decoded by wasm/
        ("pypdf_multilang.pdf", 0.003),  # Chinese, Japanese, Thai, Arabic and Russian: cmaps/ and fonts
        ("pdfjs_vertical-japanese.pdf", 0.003),  # vertical Japanese in fonts the file does not embed
    ],
)
def test_scanned_and_cjk_pdfs_are_drawn_not_left_blank(session, ingested, name, least_ink):
    corpus = services.create_corpus(name="Drawn")
    (document,) = ingested(corpus, PDFS / name)
    page = session.page
    session.open(document.get_absolute_url())
    first = page.locator('.pdf-page[data-page-number="1"]')
    expect(first).to_have_attribute("data-drawn", "true")
    share = ink_share(first.locator("canvas").screenshot())
    session.screenshot("drawn", full_page=False)
    assert share > least_ink, f"page 1 of {name} looks blank: {share:.4f} of its pixels have ink"
