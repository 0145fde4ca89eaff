"""Uploading in the browser: drop files, watch their progress, read the errors of bad ones."""

import os

import pytest
from playwright.sync_api import expect

from ingestion import services
from ingestion.models import Document
from testkit.documents import TOPIC_PAGES, make_encrypted_pdf, make_pdf

from .conftest import RECORD_PROGRESS, drop_files

pytestmark = pytest.mark.django_db(transaction=True)
READY_TIMEOUT_MS = 120_000


def make_scanned_looking_pdf(path, *, pages: list[str], picture_side: int) -> bytes:
    """The five pages of text, with a large photograph-like picture (noise) on the first: about
    picture_side² × 3 bytes that do not compress, so the upload takes a while."""
    from fpdf import FPDF
    from PIL import Image

    picture = Image.frombytes("RGB", (picture_side, picture_side), os.urandom(picture_side * picture_side * 3))
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number, text in enumerate(pages, start=1):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
        if number == 1:
            pdf.image(picture, x=20, y=60, w=120)
    pdf.output(str(path))
    return path.read_bytes()


def test_a_dropped_pdf_shows_its_upload_progress_then_its_processing_until_ready(slow_uplink_session, tmp_path):
    session = slow_uplink_session
    corpus = services.create_corpus(name="Field notes")
    data = make_scanned_looking_pdf(tmp_path / "field-notes.pdf", pages=TOPIC_PAGES, picture_side=1800)
    assert len(data) > 9_000_000
    page = session.page
    page.add_init_script(RECORD_PROGRESS)
    session.open(corpus.get_absolute_url())

    drop_files(page, "#dropzone", [("field-notes.pdf", data, "application/pdf")])
    expect(page.locator(".upload-item")).to_contain_text("Uploading…")
    session.screenshot("uploading")
    expect(page.locator(".upload-item")).to_contain_text("Uploaded; processing below.")
    row = page.locator("#documents tbody tr").first
    expect(row).to_contain_text("field-notes.pdf")
    expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    expect(row).to_contain_text("5 pages")
    session.screenshot("ready")

    seen = page.evaluate("window.__seen")
    moved = [value for value in seen["upload"] if 0 < value < 100]
    assert moved, f"the upload bar went straight to its end: {seen['upload']}"
    assert seen["upload"][-1] == 100
    assert seen["rows"][0].startswith("queued"), seen["rows"]
    assert seen["rows"][-1] == "ready", seen["rows"]
    assert Document.objects.get().status == Document.Status.READY


def test_an_encrypted_pdf_and_an_unsupported_file_show_plain_errors_and_the_page_keeps_working(session, tmp_path):
    corpus = services.create_corpus(name="Mixed bag")
    locked = make_encrypted_pdf(tmp_path / "locked.pdf", password="secret", pages=["Quarterly numbers."])
    picture = tmp_path / "clip.gif"
    picture.write_bytes(b"GIF89a" + bytes(200))
    page = session.page
    session.open(corpus.get_absolute_url())

    page.set_input_files("#id_files", [str(locked), str(picture)])
    rows = page.locator("#documents tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_have_attribute("data-status", "failed", timeout=READY_TIMEOUT_MS)
    locked_row = page.locator("#documents tr", has_text="locked.pdf")
    expect(locked_row.locator(".error-text")).to_contain_text("protected by a password")
    picture_row = page.locator("#documents tr", has_text="clip.gif")
    expect(picture_row.locator(".error-text")).to_contain_text("This file is a")
    expect(picture_row.locator(".error-text")).to_contain_text("We can read PDF")
    # Neither can change by trying again: no Retry is offered.
    expect(page.locator("#documents").get_by_role("button", name="Retry")).to_have_count(0)
    session.screenshot("errors")

    # The same file again is shown as a duplicate, and not even sent.
    uploads = []
    page.on("request", lambda request: request.method == "POST" and uploads.append(request.url))
    page.set_input_files("#id_files", [str(locked)])
    expect(page.locator(".upload-item").first).to_contain_text("already in this corpus")
    expect(page.locator(".upload-item").first).to_contain_text("not uploaded again")
    assert uploads == []
    assert Document.objects.count() == 2

    # And the page still takes a good file.
    good = make_pdf(tmp_path / "good.pdf", pages=["After the bad ones, this one still works."])
    page.set_input_files("#id_files", [str(good)])
    good_row = page.locator("#documents tr", has_text="good.pdf")
    expect(good_row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    session.screenshot("after")
