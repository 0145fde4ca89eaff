"""Document text, file names and model output that look like HTML show as text everywhere."""

import pytest
from playwright.sync_api import expect

from ingestion import services
from qa.models import Answer

pytestmark = pytest.mark.django_db(transaction=True)
READY_TIMEOUT_MS = 120_000
SCRIPT = "<script>alert(1)</script>"
NOTES = (
    f"Valve safety notes. {SCRIPT} Never open the pressure valve without gloves and goggles. "
    "<img src=x onerror=alert(2)> The valve must be closed before the pump is serviced."
)
HOSTILE_NAME = "<img src=x onerror=alert(3)>.txt"
HOSTILE_TITLE = "<img src=x onerror=alert(3)>"  # the name shown as the title, without its extension
PAGE_HTML = (
    "<html><head><title>Pump manual <script>alert(5)</script></title></head><body>"
    "<p>The pump manual says: &lt;script&gt;alert(6)&lt;/script&gt; service the pump yearly.</p>"
    "<script>alert(7)</script></body></html>"
)


def test_markup_in_documents_and_answers_is_shown_as_text_and_never_runs(session, fake_llm):
    fake_llm.answer = f"Close the valve first {SCRIPT} and wear gloves [1]."
    corpus = services.create_corpus(name="Safety")
    page = session.page
    session.open(corpus.get_absolute_url())
    page.set_input_files(
        "#id_files",
        [
            {"name": HOSTILE_NAME, "mimeType": "text/plain", "buffer": NOTES.encode()},
            {"name": "manual.html", "mimeType": "text/html", "buffer": PAGE_HTML.encode()},
        ],
    )
    rows = page.locator("#documents tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    expect(page.locator(".upload-list")).to_contain_text(HOSTILE_NAME)
    page.reload()
    expect(page.locator("#documents")).to_contain_text(HOSTILE_NAME)
    session.screenshot("corpus")

    page.get_by_role("link", name=HOSTILE_TITLE, exact=True).click()
    expect(page.locator(".chunks")).to_contain_text(SCRIPT)
    expect(page.locator(".chunks")).to_contain_text("<img src=x onerror=alert(2)>")
    session.screenshot("document")

    session.open("/ask/")
    page.fill("#id_question", "What must I wear to open the pressure valve?")
    page.click("#ask-button")
    turn = page.locator(".turn").first
    expect(turn).to_have_attribute("data-state", "done")
    expect(turn.locator(".answer-text")).to_contain_text(SCRIPT)
    expect(turn.locator(".source-card").first).to_contain_text(SCRIPT)
    expect(turn.locator(".source-card").first).to_contain_text(HOSTILE_TITLE)
    session.screenshot("answer")

    session.open(Answer.objects.get().get_absolute_url())
    expect(page.locator(".answer-text")).to_contain_text(SCRIPT)
    expect(page.locator(".source-card").first).to_contain_text(SCRIPT)
    session.open("/history/")
    expect(page.locator(".history")).to_contain_text(SCRIPT)
    # The HTML document's own title and text, with their markup, are text too.
    manual = corpus.documents.get(original_name="manual.html")
    session.open(manual.get_absolute_url())
    expect(page.locator(".chunks")).to_contain_text("<script>alert(6)</script>")
    session.screenshot("html-document")
    assert not page.locator("main script").count(), "a script element ended up in the page's content"
    # (The session fixture fails the test if any dialog fired in any of these pages.)
