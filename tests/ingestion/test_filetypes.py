import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from ingestion import filetypes
from ingestion.filetypes import detect_file_type
from testkit.documents import make_docx, make_pdf


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pdf_is_recognised_by_its_content_whatever_its_name(tmp_path):
    pdf = make_pdf(tmp_path / "report.txt", pages=["Hello"])
    assert detect_file_type(pdf, "report.txt").file_type == filetypes.PDF


def test_word_document_is_recognised_inside_its_zip(tmp_path):
    docx = make_docx(tmp_path / "a.bin", title="T", paragraphs=["Hello"])
    assert detect_file_type(docx, "a.bin").file_type == filetypes.DOCX


def test_html_is_recognised_from_its_markup(tmp_path):
    page = write(tmp_path / "page.txt", b"\xef\xbb\xbf  <!-- saved -->\n<!DOCTYPE html><html><body>Hi</body></html>")
    assert detect_file_type(page, "page.txt").file_type == filetypes.HTML


def test_markdown_is_told_from_plain_text_by_headings_or_by_name(tmp_path):
    with_heading = write(tmp_path / "notes", b"# Notes\n\nSome text.")
    named = write(tmp_path / "x.md", b"Just text.")
    plain = write(tmp_path / "x.txt", b"Just text, with a #hashtag.")
    assert detect_file_type(with_heading, "notes").file_type == filetypes.MARKDOWN
    assert detect_file_type(named, "x.md").file_type == filetypes.MARKDOWN
    assert detect_file_type(plain, "x.txt").file_type == filetypes.TEXT


def test_latin1_text_counts_as_text(tmp_path):
    latin1 = write(tmp_path / "old.txt", "Café crème, façade, naïve.\n".encode("latin-1") * 20)
    assert detect_file_type(latin1, "old.txt").file_type == filetypes.TEXT


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "TIFF"])
def test_a_png_jpeg_or_tiff_picture_is_read_as_a_picture(tmp_path, image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, image_format)
    image = write(tmp_path / "scan", buffer.getvalue())
    detection = detect_file_type(image, "scan")
    assert detection.file_type == filetypes.IMAGE
    assert detection.description == f"a {image_format} image"


def test_a_gif_is_unsupported_and_named_in_the_message(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    image = write(tmp_path / "anim.gif", buffer.getvalue())
    detection = detect_file_type(image, "anim.gif")
    assert not detection.is_supported
    assert "GIF" in detection.problem
    assert "We can read PDF" in detection.problem


def test_a_file_named_pdf_that_is_not_a_pdf_is_unsupported(tmp_path):
    fake = write(tmp_path / "invoice.pdf", b"hello, this is not a PDF at all")
    detection = detect_file_type(fake, "invoice.pdf")
    assert not detection.is_supported
    assert "named like a PDF but does not contain one" in detection.problem


def test_a_spreadsheet_is_named_as_such(tmp_path):
    path = tmp_path / "sheet.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    detection = detect_file_type(path, "sheet.xlsx")
    assert not detection.is_supported
    assert "Excel spreadsheet" in detection.problem


def test_an_empty_file_says_it_is_empty(tmp_path):
    empty = write(tmp_path / "empty.pdf", b"")
    assert detect_file_type(empty, "empty.pdf").problem == "The file is empty."


def test_a_zip_that_claims_a_newer_zip_version_is_a_damaged_archive(tmp_path):
    # Found by tests/test_fuzzing.py: zipfile raises NotImplementedError ("zip file version 6.8") for it.
    data = bytearray(make_docx(tmp_path / "a.docx", title="T", paragraphs=["Hello"]).read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 6] = 68  # "version needed to extract"
    path = write(tmp_path / "new.docx", bytes(data))
    detection = detect_file_type(path, "new.docx")
    assert detection.file_type == filetypes.UNSUPPORTED
    assert "damaged" in detection.problem
