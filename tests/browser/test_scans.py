"""A scan in the browser: uploaded, read by OCR through the real worker, asked about, and its citation opens
the drawn page with the passage marked where its lines are."""

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from ingestion import services
from testkit.scans import draw_page, save_scan

pytestmark = pytest.mark.django_db(transaction=True)
HARBOUR = "The harbour master keeps the tide tables in a blue ledger beside the lamp room door."
CODE_WORD = "The code word on page two is dahlia. It was changed after the storm of the previous winter."


def marked_share(png: bytes) -> float:
    """The share of a screenshot's pixels in the highlight's yellow."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # rgb(255 200 0 / .35) over white paper is about (255, 238, 166); over black ink, dark.
    return float(((red > 200) & (green > 200) & (red - blue > 50)).mean())


def test_a_scans_citation_opens_its_drawn_page_with_the_passage_marked(session, ingested, tmp_path, settings):
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    corpus = services.create_corpus(name="Harbour scans")
    pages = [draw_page([HARBOUR], dpi=150), draw_page([CODE_WORD], dpi=150)]
    (document,) = ingested(corpus, save_scan(tmp_path / "harbour-scan.pdf", pages, dpi=150))
    assert document.status == document.Status.READY, document.error
    page = session.page

    session.open(corpus.get_absolute_url())
    expect(page.locator("#documents tr", has_text="harbour-scan.pdf")).to_contain_text("2 read by OCR")

    session.open(f"/ask/?corpus={corpus.slug}")
    page.fill("#id_question", "Which code word is on page two?")
    page.click("#ask-button")
    turn = page.locator(".turn").first
    expect(turn).to_have_attribute("data-state", "done")
    expect(turn.locator(".answer-text")).to_contain_text("dahlia")
    card = turn.locator(".source-card").first
    expect(card).to_contain_text("Page 2")
    expect(card.locator(".ocr-note")).to_have_text("read from a scan (OCR)")
    session.screenshot("answered")

    with page.context.expect_page() as opened:
        card.get_by_role("link", name="Open page 2").click()
    viewer = opened.value
    target = viewer.locator('.pdf-page[data-page-number="2"]')
    expect(target).to_have_attribute("data-target", "true")
    expect(target).to_have_attribute("data-drawn", "true")
    expect(viewer.locator("#pdf-status")).to_contain_text("Page 2 of 2. The cited passage is highlighted.")
    mark = target.locator(".region-highlight").first
    expect(mark).to_be_visible()
    # The mark lies over the first line of the page's text: an inch from the top, in its top fifth.
    page_box, mark_box = target.bounding_box(), mark.bounding_box()
    assert 0 < mark_box["y"] - page_box["y"] < page_box["height"] / 5
    assert mark_box["width"] > page_box["width"] / 3
    assert marked_share(target.screenshot()) > 0.005
    session.screenshot("viewer", page=viewer)
