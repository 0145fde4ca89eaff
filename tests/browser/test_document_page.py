"""The document page in the browser: fixing a title, date and source; giving an encrypted PDF its password."""

import pytest
from playwright.sync_api import expect

from ingestion import services
from ingestion.models import Document
from testkit.documents import TOPIC_PAGES, make_encrypted_pdf, make_pdf

pytestmark = pytest.mark.django_db(transaction=True)
READY_TIMEOUT_MS = 120_000


def test_a_title_date_and_source_are_fixed_on_the_document_page(session, ingested, tmp_path):
    corpus = services.create_corpus(name="Field notes")
    (document,) = ingested(corpus, make_pdf(tmp_path / "Binder1.pdf", pages=TOPIC_PAGES, title="Binder1.pdf"))
    page = session.page
    session.open(document.get_absolute_url())
    expect(page.locator("h1")).to_have_text("Binder1")  # the tool's placeholder title is not used
    page.get_by_text("Edit title, date and source").click()
    page.fill("#id_title", "Field notes of the survey")
    page.fill("#id_document_date", "2024-03-05")
    page.fill("#id_source_url", "ftp://archive.example.org/notes")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_source_url-error")).to_contain_text("http:// or https://")
    session.screenshot("refused")

    page.fill("#id_source_url", "https://archive.example.org/notes")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Field notes of the survey")
    expect(page.locator(".messages")).to_contain_text("were saved")
    expect(page.locator(".facts")).to_contain_text("https://archive.example.org/notes")
    session.screenshot("saved")
    session.open(corpus.get_absolute_url())
    expect(page.locator("#documents tbody tr").first).to_contain_text("Field notes of the survey")


def test_an_encrypted_pdf_is_read_once_its_password_is_given_on_its_page(session, ingested, tmp_path):
    corpus = services.create_corpus(name="Locked")
    locked = make_encrypted_pdf(tmp_path / "locked.pdf", password="tide-9731", pages=["The ledger is blue."])
    (document,) = ingested(corpus, locked)
    assert document.needs_password
    page = session.page
    session.open(document.get_absolute_url())
    expect(page.locator(".facts")).to_contain_text("protected by a password")
    page.fill("#pdf-password", "wrong")
    page.get_by_role("button", name="Open and read").click()
    expect(page.locator(".messages")).to_contain_text("That password does not open this PDF")
    session.screenshot("wrong-password")

    page.fill("#pdf-password", "tide-9731")
    page.get_by_role("button", name="Open and read").click()
    row = page.locator("#documents tr", has_text="locked.pdf")
    expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    session.screenshot("read")
    document = Document.objects.get(pk=document.pk)
    session.open(f"{document.get_absolute_url()}?passage={document.chunks.first().pk}")
    expect(page.locator('.pdf-page[data-page-number="1"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator("#pdf-status")).to_contain_text("The cited passage is highlighted.")
