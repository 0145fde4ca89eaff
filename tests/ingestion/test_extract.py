import datetime

import pytest

from ingestion import extract, filetypes
from ingestion.extract import ExtractionError
from testkit.documents import make_docx, make_encrypted_pdf, make_pdf


def pages_of(path, file_type=filetypes.PDF, **kwargs):
    return list(extract.iter_pages(path, file_type, **kwargs))


def test_pdf_pages_come_out_in_order_with_their_numbers(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", pages=[f"This is page {n}." for n in range(1, 8)])
    pages = pages_of(pdf, pages_per_reader=3)
    assert [page.number for page in pages] == list(range(1, 8))
    assert [page.text.strip() for page in pages] == [f"This is page {n}." for n in range(1, 8)]


def test_pdf_metadata_gives_title_date_and_page_count(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", pages=["One", "Two"], title="Annual report")
    metadata = extract.read_metadata(pdf, filetypes.PDF)
    assert metadata.title == "Annual report"
    assert metadata.page_count == 2
    assert isinstance(metadata.date, datetime.date)


def test_pdf_with_a_password_is_refused_with_a_plain_message(tmp_path):
    pdf = make_encrypted_pdf(tmp_path / "secret.pdf", password="hunter2", pages=["Top secret"])
    with pytest.raises(ExtractionError, match="protected by a password"):
        pages_of(pdf)


def test_pdf_encrypted_with_an_empty_password_is_read(tmp_path):
    pdf = make_encrypted_pdf(tmp_path / "open.pdf", password="", pages=["Anyone may read this"])
    assert pages_of(pdf)[0].text.strip() == "Anyone may read this"


def test_truncated_pdf_is_reported_as_damaged(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", pages=["Some text"] * 3)
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(pdf.read_bytes()[:400])
    with pytest.raises(ExtractionError, match="damaged"):
        extract.read_metadata(truncated, filetypes.PDF)


def test_pdf_ligatures_become_plain_letters():
    assert extract.normalize_pdf_text("The ofﬁce ﬂoor") == "The office floor"


def test_control_characters_are_dropped_but_line_breaks_kept():
    assert extract.clean_text("a\x00b\r\nc\x07\td") == "ab\nc\td"


def test_html_keeps_visible_text_and_drops_scripts_and_styles(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><title>T</title><style>p{color:red}</style><script>var secret = 1;</script></head>"
        "<body><h1>Heading</h1><p>First <b>bold</b> paragraph.</p><p>Second paragraph.</p></body></html>"
    )
    text = pages_of(page, filetypes.HTML)[0].text
    assert "Heading" in text
    assert "First bold paragraph." in text
    assert "Second paragraph." in text
    assert "secret" not in text
    assert "color" not in text


def test_html_title_and_date_come_from_its_head(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        '<html><head><title>  Release   notes </title><meta name="date" content="2024-03-01T10:00:00Z"></head>'
        "<body>Hello</body></html>"
    )
    metadata = extract.read_metadata(page, filetypes.HTML)
    assert metadata.title == "Release notes"
    assert metadata.date == datetime.date(2024, 3, 1)


def test_word_paragraphs_and_tables_are_read_in_order(tmp_path):
    docx = make_docx(
        tmp_path / "a.docx", title="Minutes", paragraphs=["Opening remarks.", "Budget discussion."],
        table=[["Item", "Cost"], ["Paint", "120"]],
    )  # fmt: skip
    text = pages_of(docx, filetypes.DOCX)[0].text
    assert text.index("Opening remarks.") < text.index("Budget discussion.") < text.index("Paint | 120")
    assert extract.read_metadata(docx, filetypes.DOCX).title == "Minutes"


def test_legacy_encoded_text_is_decoded(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Le café de la gare était fermé à cause de la grève générale.\n".encode("cp1252") * 30)
    assert "café de la gare était fermé" in pages_of(path, filetypes.TEXT)[0].text


def test_markdown_title_is_its_first_heading(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("Intro line\n\n# Getting started #\n\nText.")
    assert extract.read_metadata(path, filetypes.MARKDOWN).title == "Getting started"


def test_utf16_text_cut_off_mid_character_is_read_with_a_replacement(tmp_path):
    # Found by tests/test_fuzzing.py: a BOM, text, then half a surrogate pair.
    path = tmp_path / "cut.txt"
    path.write_bytes("\ufeffHello".encode("utf-16-le") + b"\x00\xd8")
    (page,) = pages_of(path, filetypes.TEXT)
    assert page.text.startswith("Hello")


@pytest.mark.parametrize(
    ("title", "meaningful"),
    [
        ("Binder1.pdf", False),
        ("untitled", False),
        ("Untitled Document", False),
        ("Microsoft Word - quarterly report.docx", False),
        ("report final v2.doc", False),
        ("  ", False),
        ("The Siege of Vicksburg", True),
        ("PEP 8 -- Style Guide for Python Code", True),
        ("Version 2.0", True),
        ("Release 2.10", True),
        ("Node.js in Action", True),
        ("Amazon.com", True),
    ],
)
def test_a_title_a_tool_filled_in_or_that_is_a_file_name_is_not_the_documents_title(title, meaningful):
    assert extract.is_meaningful_title(title) is meaningful
