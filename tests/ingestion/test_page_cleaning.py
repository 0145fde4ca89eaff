"""Page furniture out of PDF text, with the way back to the page's own characters."""

import random

import pytest

from ingestion import extract, filetypes, page_cleaning

from ..conftest import SHARED

WORDS = ["river", "siege", "camp", "guns", "shell", "tent", "hill", "army", "lines", "works", "trench"]


def book_pages(count: int = 6) -> list[str]:
    """Pages of a scanned book: a running head with the page number on top, varied prose, a folio below."""
    pages = []
    for number in range(49, 49 + count):
        rng = random.Random(number)
        prose = [" ".join(rng.choice(WORDS) for _ in range(9)) for _ in range(6)]
        prose[3:3] = ["The shells were dan-", f"gerous visitors on page {number}."]
        head = f"THE SIEGE OF VICKSBURG. {number}" if number % 2 else f"{number} THE SIEGE OF VICKSBURG."
        pages.append(f"{head}\n" + "\n".join(prose) + f"\n{number}\n")
    return pages


def test_running_heads_and_page_numbers_are_dropped_and_the_text_kept():
    pages = book_pages()
    recurring = page_cleaning.furniture(pages)
    cleaned = page_cleaning.clean(pages[0], recurring)
    assert "VICKSBURG" not in cleaned.text
    assert not cleaned.text.rstrip().endswith("49")
    assert cleaned.text.startswith(pages[0].splitlines()[1])
    assert "The shells were dangerous visitors on page 49." in cleaned.text


def test_every_cleaned_character_maps_back_to_the_same_character_of_the_page():
    pages = book_pages()
    page = pages[3]
    cleaned = page_cleaning.clean(page, page_cleaning.furniture(pages))
    for offset, character in enumerate(cleaned.text):
        assert page[cleaned.original(offset)] == character, offset
    start = cleaned.text.index("gerous")
    assert page[cleaned.original(start) : cleaned.original(start) + 6] == "gerous"


def test_a_line_that_recurs_in_the_body_of_pages_or_on_few_pages_stays():
    pages = book_pages(2)  # two pages: too few to tell furniture from text
    assert page_cleaning.furniture(pages) == frozenset()
    pages = book_pages()
    body_line = "Signed and witnessed by the officers present."
    pages = [page.replace("\n", f"\n{body_line}\n", 3) for page in pages]  # in the middle, not at an edge
    assert body_line in page_cleaning.clean(pages[0], page_cleaning.furniture(pages)).text


def test_pages_of_one_recurring_line_keep_it():
    pages = [f"The Arctic tern flies far every year, note {n}. It migrates from pole to pole." for n in range(6)]
    recurring = page_cleaning.furniture(pages)
    assert page_cleaning.clean(pages[0], recurring).text == pages[0]
    assert page_cleaning.clean(pages[0], frozenset([page_cleaning.line_key(pages[0])])).text == pages[0]


def test_a_hyphen_between_words_or_before_a_capital_stays():
    assert page_cleaning.clean("a well-\nknown fact").text == "a wellknown fact"  # the usual price of joining
    assert page_cleaning.clean("north-\nSouth line").text == "north-\nSouth line"
    assert page_cleaning.clean("items 1-\n2 here").text == "items 1-\n2 here"
    assert page_cleaning.clean("ends with -\nnothing").text == "ends with -\nnothing"


VICKSBURG = SHARED / "eval" / "pdfs" / "pypdf_Siege_of_Vicksburg_OCR-6p.pdf"


@pytest.mark.skipif(not VICKSBURG.exists(), reason=f"{VICKSBURG} is not here (it is in CI)")
def test_a_scanned_books_running_heads_go_even_where_its_ocr_layer_misread_them():
    pages = [page.text for page in extract.iter_pages(VICKSBURG, filetypes.PDF)]
    assert "VICKSBUEG" in pages[1]
    assert "SIEGE   OP" in pages[3]
    recurring = page_cleaning.furniture(pages)
    cleaned = [page_cleaning.clean(text, recurring).text for text in pages]
    assert not any("SIEGE" in text.split("\n", 1)[0] for text in cleaned)
    assert "it became too conspicuous and dangerous for use." in " ".join(cleaned[0].split())
