"""A conversation in the browser, over the real TraceMonkey paper and a Sherlock Holmes story: the follow-up
"And who wrote it?" is searched as a question of its own, shown as such, and answered from the paper's first
page; what was searched can be edited and asked again, and a new conversation forgets the old one."""

import pytest
from playwright.sync_api import expect

from ingestion import services
from qa.models import Answer

from ..conftest import SHARED

pytestmark = pytest.mark.django_db(transaction=True)
PAPER = SHARED / "eval" / "pdfs" / "pdfjs_tracemonkey.pdf"
HOLMES = SHARED / "eval" / "docs" / "gutenberg-1661-sherlock-holmes.txt"
# The first story (A Scandal in Bohemia), where the handwriting of a letter is discussed.
HOLMES_CHARS = 60_000


@pytest.fixture
def library(ingested, tmp_path):
    if not PAPER.exists() or not HOLMES.exists():
        pytest.skip(f"{PAPER} or {HOLMES} is missing: ../shared/eval is not here")
    story = tmp_path / "a-scandal-in-bohemia.txt"
    story.write_text(HOLMES.read_text(encoding="utf-8")[:HOLMES_CHARS], encoding="utf-8")
    corpus = services.create_corpus(name="Library")
    for document in ingested(corpus, PAPER, story):
        assert document.status == document.Status.READY, document.error
    return corpus


def ask(session, question: str, turns: int):
    page = session.page
    page.fill("#id_question", question)
    page.click("#ask-button")
    turn = page.locator(".turn").nth(turns - 1)
    expect(turn).to_have_attribute("data-state", "done")
    return turn


def test_a_follow_up_is_searched_standalone_and_answered_from_the_papers_first_page(session, library):
    page = session.page
    session.open("/ask/")
    first = ask(session, "What is TraceMonkey?", 1)
    expect(first.locator(".source-card").first).to_contain_text("pdfjs_tracemonkey")
    expect(first.locator(".searched")).to_contain_text("Searched for the question as asked.")

    second = ask(session, "And who wrote it?", 2)
    expect(second.locator(".searched")).to_contain_text("Searched for: And who wrote TraceMonkey?")
    expect(second.locator(".answer-text")).to_contain_text("Andreas Gal")
    cited = second.locator(".source-card.is-cited").first
    expect(cited).to_contain_text("pdfjs_tracemonkey")
    expect(cited).to_contain_text("Page 1")
    session.screenshot("follow-up")
    answer = Answer.objects.get(question="And who wrote it?")
    assert answer.conversation_id == Answer.objects.get(question="What is TraceMonkey?").conversation_id
    assert answer.citations.get().source.page == 1

    with page.expect_popup() as opened:
        second.locator(".answer-text a.ref").first.click()
    document_page = opened.value
    session.watch(document_page)
    expect(document_page.locator('.pdf-page[data-page-number="1"]')).to_have_attribute("data-drawn", "true")
    expect(document_page.locator("#pdf-status")).to_contain_text("Page 1 of")

    # What was searched can be edited: the same question is asked again, searched as written.
    second.get_by_role("button", name="Edit and ask again").click()
    second.get_by_label("Search for").fill("Gal Eich Mozilla trace trees")
    second.get_by_role("button", name="Ask again").click()
    third = page.locator(".turn").nth(2)
    expect(third).to_have_attribute("data-state", "done")
    expect(third.locator(".searched")).to_contain_text("Searched for: Gal Eich Mozilla trace trees (as you edited it)")
    edited = Answer.objects.get(searched_for="Gal Eich Mozilla trace trees")
    assert (edited.question, edited.rewrite, edited.conversation_id) == ("And who wrote it?", "edited",
                                                                          answer.conversation_id)  # fmt: skip

    # A new conversation forgets the old one: the same follow-up is searched as asked, and lands on Holmes.
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)
    alone = ask(session, "And who wrote it?", 1)
    expect(alone.locator(".searched")).to_contain_text("Searched for the question as asked.")
    expect(alone.locator(".source-card").first).to_contain_text("a-scandal-in-bohemia")
    assert Answer.objects.latest("pk").conversation_id != answer.conversation_id
    session.screenshot("new-conversation")


def test_a_conversation_is_reopened_from_the_history_and_continued(session, library):
    page = session.page
    session.open("/ask/")
    ask(session, "What is TraceMonkey?", 1)
    session.open("/history/")
    page.get_by_role("link", name="What is TraceMonkey?").click()
    page.get_by_role("link", name="Continue this conversation").click()
    expect(page.locator("#earlier-turns")).to_contain_text("What is TraceMonkey?")
    follow_up = ask(session, "And who wrote it?", 1)
    expect(follow_up.locator(".searched")).to_contain_text("And who wrote TraceMonkey?")
    assert Answer.objects.filter(conversation__title="What is TraceMonkey?").count() == 2

    session.open("/history/")
    page.get_by_role("link", name="What is TraceMonkey?").click()
    page.get_by_label("Title").fill("TraceMonkey's authors")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("h1")).to_have_text("TraceMonkey's authors")
    # Deleting asks first (a confirm dialog), which this test answers yes, instead of the session's dismissing.
    page.remove_listener("dialog", session.dismiss)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the conversation").click()
    expect(page.locator(".messages")).to_contain_text("were deleted")
    assert not Answer.objects.exists()
