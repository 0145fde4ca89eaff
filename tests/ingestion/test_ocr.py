"""Reading scans (ingestion/ocr.py) with the real RapidOCR models, on pages drawn here from known text."""

import numpy as np
import pytest
from PIL import Image

from ingestion import ocr, page_cleaning
from ingestion.ocr import Line
from testkit.scans import draw_page, save_scan

CODE_WORD = "The code word on page four is dahlia, and the meeting moved to the northern harbour at dawn."
REGISTER = "Visitors must sign the register before they enter the archive."


@pytest.mark.parametrize(
    "text",
    [": ., dP . . i, . .", "~ ' ,. :: ;' ' -- ^ .", "l| ;: I' ,. ~ ' :"],
)
def test_a_text_layer_of_ocr_garbage_is_junk(text):
    assert ocr.is_junk(text)
    assert ocr.needs_ocr(text, has_image=False)


@pytest.mark.parametrize(
    "text",
    [
        "The siege lasted forty-seven days, and the city surrendered on the Fourth of July.",
        "Let f: X → Y be continuous, and (x, y) ∈ X × Y with d(x, y) < ε for all n ≥ 1.",
        "東京は日本の首都です。人口は約千四百万人です。",
        "Table 3 | 12.5 | 7 | 0.33 | n/a",
    ],
)
def test_prose_formulas_cjk_and_tables_are_not_junk(text):
    assert not ocr.is_junk(text)
    assert not ocr.needs_ocr(text, has_image=False)


def test_a_few_words_over_a_picture_are_read_from_the_picture_but_a_blank_page_is_not():
    watermark = "Produced with a Trial Version of PDF Annotator - www.PDFAnnotator.com"
    assert ocr.needs_ocr(watermark, has_image=True)
    assert not ocr.needs_ocr(watermark, has_image=False)  # a short page of text: a title page
    assert ocr.needs_ocr("", has_image=True)
    assert not ocr.needs_ocr("", has_image=False)


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
    return Line(text, 0.99, (x0, y0, x1, y1))


def test_lines_at_one_height_make_a_row_and_a_word_broken_at_a_rows_end_is_joined_by_the_page_cleaning():
    lines = [
        line("the heavy guns were dan-", 100, 80, 700, 110),
        line("Chapter 4.", 100, 40, 300, 70),
        line("49", 900, 45, 940, 68),
        line("gerous, and fell silent.", 100, 120, 600, 150),
        line("A new paragraph.", 100, 200, 500, 230),
    ]
    text, boxes = ocr.assemble(lines, (1000, 1000))
    assert text == "Chapter 4. 49\nthe heavy guns were dan-\ngerous, and fell silent.\n\nA new paragraph."
    cleaned = page_cleaning.clean(text)
    assert cleaned.text == "Chapter 4. 49\nthe heavy guns were dangerous, and fell silent.\n\nA new paragraph."
    joined = cleaned.text.index("gerous")
    assert text[cleaned.original(joined) : cleaned.original(joined) + 6] == "gerous"  # its box is found by it
    pieces = {text[start:end] for start, end, *_ in boxes}
    assert {"Chapter 4.", "49", "gerous, and fell silent.", "A new paragraph."} <= pieces
    start = text.index("A new paragraph.")
    assert ocr.regions(boxes, start, start + 5) == [[0.1, 0.2, 0.5, 0.23]]


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_box_found_on_a_turned_page_is_marked_where_it_is_on_the_page(turn):
    page = Image.new("L", (400, 600), 255)
    page.paste(0, (40, 90, 200, 120))  # a dark bar where a line of text would be

    def bar(image: Image.Image) -> list[float]:
        rows, columns = np.nonzero(np.asarray(image) < 128)
        width, height = image.size
        return [columns.min() / width, rows.min() / height, (columns.max() + 1) / width, (rows.max() + 1) / height]

    turned = page.rotate(turn, expand=True)
    assert ocr.unturn(bar(turned), turn) == pytest.approx(bar(page), abs=0.01)


def test_a_drawn_scan_is_read_with_its_words_and_where_each_line_is(tmp_path):
    scan = save_scan(tmp_path / "scan.pdf", [draw_page([CODE_WORD, REGISTER], dpi=150)], dpi=150)
    page = ocr.read_page(scan, "pdf", 1)
    assert page.is_ocr
    assert page.number == 1
    assert "The code word on page four is dahlia" in page.text
    assert "sign the register before they enter the archive" in page.text
    start = page.text.index("dahlia")
    (x0, y0, x1, y1), *_ = ocr.regions(page.boxes, start, start + 6)
    # The first line, an inch (of 8.27 × 11.69) from the top left corner.
    assert x0 == pytest.approx(1 / 8.27, abs=0.02)
    assert y0 == pytest.approx(1 / 11.69, abs=0.02)
    assert x1 > 0.5
    assert y1 - y0 < 0.05


@pytest.mark.parametrize("turn", [90, 180])
def test_a_page_scanned_sideways_or_upside_down_is_read_in_order(tmp_path, turn):
    scan = save_scan(tmp_path / "turned.png", [draw_page([CODE_WORD, REGISTER], dpi=150, turn=turn)], dpi=150)
    page = ocr.read_page(scan, "image", 1)
    assert page.text.index("The code word") < page.text.index("harbour at dawn") < page.text.index("Visitors")
    start = page.text.index("The code word")
    (_, y0, x1, y1), *_ = ocr.regions(page.boxes, start, start + 5)
    if turn == 90:  # the top of the page is on the left
        assert x1 < 0.15
        assert y1 - y0 > 0.3
    else:  # the top of the page is at the bottom
        assert y0 > 0.85


def test_each_picture_of_a_tiff_is_a_page(tmp_path):
    pages = [draw_page([CODE_WORD], dpi=100), draw_page([REGISTER], dpi=100)]
    scan = save_scan(tmp_path / "two.tif", pages, dpi=100)
    assert ocr.image_frame_count(scan) == 2
    assert "register" in ocr.read_page(scan, "image", 2).text


def test_a_damaged_picture_is_refused_in_words(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ocr.ExtractionError, match="This picture could not be read"):
        ocr.image_frame_count(broken)


def test_a_thin_text_layer_stays_when_its_picture_reads_as_less_but_a_junk_one_never_does():
    layer = ocr.Page(number=1, text="pdf.js", needs_ocr=True)
    empty = ocr.Page(number=1, text="", is_ocr=True)
    fuller = ocr.Page(number=1, text="pdf.js test page, scanned", is_ocr=True)
    assert ocr.better_reading(layer, empty).text == "pdf.js"
    assert not ocr.better_reading(layer, empty).needs_ocr
    assert ocr.better_reading(layer, fuller) is fuller
    junk = ocr.Page(number=1, text=": ., dP . . i, . .", needs_ocr=True)
    assert ocr.better_reading(junk, empty) is empty
