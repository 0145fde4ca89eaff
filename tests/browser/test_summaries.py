"""A document's summary in the browser: asked for on its page, made by the worker section by section (the
sections appear as they finish), then the whole with its [n] linking to the pages; asked again, at once."""

import pytest
from playwright.sync_api import expect

from ingestion import services
from testkit.documents import long_pages, make_pdf

from ..qa.test_summaries import FINAL_REPLY, SECTION_REPLY

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_summary_streams_in_section_by_section_with_citations_and_comes_back_at_once(session, ingested, tmp_path,
                                                                                        summary_llm):  # fmt: skip
    summary_llm.replies = [("Each block is the summary of one section", FINAL_REPLY),
                           ("Summarize the input in around", SECTION_REPLY)]  # fmt: skip
    summary_llm.token_delay = 0.08  # about a second a section
    corpus = services.create_corpus(name="Reports")
    (report,) = ingested(corpus, make_pdf(tmp_path / "report.pdf", pages=long_pages(6), title="Report"))
    page = session.page
    session.open(report.get_absolute_url())
    page.get_by_role("link", name="Summary").click()
    page.get_by_role("button", name="Summarize this document").click()

    box = page.locator("#summary")
    # Sections show while the rest are still being summarized.
    page.wait_for_function(
        """() => document.querySelector('#summary').dataset.status === 'running'
                 && document.querySelectorAll('#summary-sections li').length >= 1"""
    )
    expect(page.locator("#summary-progress")).to_contain_text("section")
    session.screenshot("summarizing")
    expect(box).to_have_attribute("data-status", "ready", timeout=60_000)
    expect(page.locator("#summary-text")).to_have_text(FINAL_REPLY)
    expect(page.locator("#summary-text a.ref")).to_have_count(2)
    assert page.locator("#summary-sections li").count() >= 3
    session.screenshot("summary")
    calls = len(summary_llm.requests)

    # Asked for again: the stored summary, at once, and the model is not asked anything.
    session.open(f"/documents/{report.pk}/summary/")
    expect(box).to_have_attribute("data-status", "ready")
    expect(page.locator("#summary-text")).to_contain_text("It ends with the river and the bridge")
    assert len(summary_llm.requests) == calls

    page.locator("#summary-text a.ref").first.click()
    expect(page.locator('.pdf-page[data-page-number="1"]')).to_have_attribute("data-drawn", "true")
