"""Reading the text of page images (OCR): scanned PDF pages, pages whose text layer is junk, and pictures
uploaded on their own.

RapidOCR (PP-OCRv6 detection and recognition, ONNX models inside its wheel, Apache-2.0) runs on onnxruntime
with no download. It runs in the sandbox's OCR child, one page per call: a page is rendered (pdfium, which
applies the page's /Rotate), read, and let go before the next, so memory stays flat.

A page's text is built here from the lines found, top to bottom and left to right, and each line keeps
where it was on the page (as fractions of its width and height), so a passage can be marked on the page it
came from.
"""

import functools
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import filetypes
from .extracted import ExtractionError, Page

RENDER_DPI = 200
# A poster or a plan would render to hundreds of megapixels; recognition gains nothing past this.
MAX_SIDE_PIXELS = 2400
# A page read with less confidence than this on average is read again turned a half (see read_turned).
CONFIDENT = 0.75
# Of a page's text, the share of words that must look like words for its text layer to count.
WORDLIKE_SHARE = 0.5
# Fewer letters than this on a page that holds a picture: a watermark or a caption over a scan.
THIN_TEXT_LETTERS = 100
IMAGE_FORMATS = {"PNG", "JPEG", "TIFF", "MPO"}
UNREADABLE_IMAGE = (
    "This picture could not be read; it may be damaged. Save it again as PNG or JPEG and upload it again."
)
TOO_MANY_PIXELS = (
    "This picture is larger than {limit} million pixels, more than we read. Scale it down and upload it again."
)
MAX_IMAGE_PIXELS = 200_000_000


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the image read


def needs_ocr(text: str, *, has_image: bool) -> bool:
    """Whether a page's text layer should be replaced by reading its image: it has no text, its text is
    junk (OCR garbage such as ": ., dP . . i, . ."), or it is a few words over a picture (a watermark)."""
    if not text.strip():
        return has_image
    if is_junk(text):
        # Whether or not it has pictures: a font without its character map extracts as garbage, yet draws.
        return True
    return has_image and letter_count(text) < THIN_TEXT_LETTERS


def is_junk(text: str) -> bool:
    """Most of its words are not words: made mostly of punctuation, or one letter between symbols."""
    words = text.split()
    if not words:
        return False
    wordlike = sum(1 for word in words if looks_like_word(word))
    return wordlike < WORDLIKE_SHARE * len(words)


def looks_like_word(word: str) -> bool:
    letters = sum(ch.isalnum() for ch in word)
    # A letter or digit on its own counts ("a", "I", "3"), and so does unspaced CJK of any length.
    return letters >= max(1, len(word) / 2) and (letters >= 2 or len(word) == 1)


def better_reading(layer: Page, read: Page) -> Page:
    """The page's text layer or its OCR reading, whichever holds more: OCR can find less than a thin
    layer holds (a word over a photograph); a junk layer never counts."""
    if is_junk(layer.text) or letter_count(read.text) >= letter_count(layer.text):
        return read
    return Page(number=layer.number, text=layer.text)


def letter_count(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def pdf_page_has_image(page) -> bool:  # page: pypdf.PageObject
    """Whether the page draws a picture: an image among its resources or those of a form it uses (one level
    down), or an inline image. No picture is decoded."""
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        objects = (resources.get("/XObject") or {}).get_object() if resources else {}
        for reference in objects.values():
            item = reference.get_object()
            if item.get("/Subtype") == "/Image":
                return True
            if item.get("/Subtype") == "/Form":
                inner = (item.get("/Resources") or {}).get_object()
                for child in ((inner.get("/XObject") or {}).get_object() if inner else {}).values():
                    if child.get_object().get("/Subtype") == "/Image":
                        return True
        contents = page.get_contents()
        return contents is not None and b"BI" in contents.get_data()
    except MemoryError:
        raise
    except Exception:
        return False  # unreadable resources: the text layer, such as it is, stays


@functools.cache
def engine():  # -> rapidocr.RapidOCR
    import cv2
    from rapidocr import RapidOCR

    threads = min(4, os.cpu_count() or 1)
    cv2.setNumThreads(1)
    return RapidOCR(
        params={
            "Global.log_level": "error",
            # Page orientation is found by reading the page turned (read_turned); per-line turning is not needed.
            "Global.use_cls": False,
            "Global.max_side_len": MAX_SIDE_PIXELS,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def read_page(path: Path, file_type: str, number: int) -> Page:
    """Page `number` (1-based) of a PDF or a picture, read by OCR."""
    image = render_pdf_page(path, number) if file_type == filetypes.PDF else open_image_frame(path, number)
    lines, turn = read_turned(image)
    upright = image.rotate(turn, expand=True) if turn else image
    text, boxes = assemble(lines, upright.size)
    # Marked on the page as it is shown, which is the picture before it was turned.
    boxes = tuple((start, end, *unturn(box, turn)) for start, end, *box in boxes)
    return Page(number=number, text=text, is_ocr=True, boxes=boxes)


def render_pdf_page(path: Path, number: int):  # -> PIL.Image.Image
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
        page = document[number - 1]
        width, height = page.get_size()  # in points, as displayed (after /Rotate)
        scale = min(RENDER_DPI / 72, MAX_SIDE_PIXELS / max(width, height, 1))
        image = page.render(scale=scale, grayscale=True).to_pil()
        page.close()
        document.close()
    except MemoryError:
        raise
    except Exception as exc:
        raise ExtractionError(f"Page {number} could not be drawn to be read.") from exc
    return image


def image_frame_count(path: Path) -> int:
    """How many pictures a file holds (a TIFF can hold a scanned document's pages)."""
    image = open_image(path)
    return getattr(image, "n_frames", 1)


def open_image(path: Path):  # -> PIL.Image.Image
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        image = Image.open(path)
        if image.format not in IMAGE_FORMATS:
            raise ExtractionError(UNREADABLE_IMAGE)
    except Image.DecompressionBombError as exc:
        raise ExtractionError(TOO_MANY_PIXELS.format(limit=MAX_IMAGE_PIXELS // 1_000_000)) from exc
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        raise ExtractionError(UNREADABLE_IMAGE) from exc
    return image


def open_image_frame(path: Path, number: int):  # -> PIL.Image.Image
    from PIL import ImageOps

    image = open_image(path)
    try:
        image.seek(number - 1)
        # A phone's photo is stored sideways with an EXIF note saying which way is up.
        frame = ImageOps.exif_transpose(image.convert("L"))
        frame.thumbnail((MAX_SIDE_PIXELS, MAX_SIDE_PIXELS))
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        raise ExtractionError(UNREADABLE_IMAGE) from exc
    return frame


def read_turned(image) -> tuple[list[Line], int]:
    """The image's lines, read the way up that gives the most confident reading, and that turn (degrees
    counter-clockwise; the lines' boxes are in the turned image).

    Upright is tried first. A page whose lines stand on end was scanned sideways: it is read turned a
    quarter each way (RapidOCR reads a standing line on its own, but the lines' order would be wrong). A page
    read with little confidence may be upside down: it is read turned a half (upside-down text reads as
    garbage, so confidence tells which way is up)."""
    best = read_lines(image)
    if is_upright(best):
        return best, 0
    best_turn, best_worth = 0, worth(best)
    for turn in (90, 270) if is_standing(best) else (180,):
        lines = read_lines(image.rotate(turn, expand=True))
        if worth(lines) > best_worth:
            best, best_turn, best_worth = lines, turn, worth(lines)
    return best, best_turn


def is_upright(lines: list[Line]) -> bool:
    if not lines:
        return True  # nothing to read, whichever way up
    return not is_standing(lines) and statistics.fmean(line.score for line in lines) >= CONFIDENT


def is_standing(lines: list[Line]) -> bool:
    """Most lines are taller than wide: the page is on its side."""
    standing = sum(1 for line in lines if line.box[3] - line.box[1] > 1.5 * (line.box[2] - line.box[0]))
    return standing > len(lines) / 2


def worth(lines: list[Line]) -> float:
    """Confident characters, read in lines that lie flat: what a reading of the page is worth."""
    return 0.0 if is_standing(lines) else sum(line.score * len(line.text) for line in lines)


def unturn(box: list[float], turn: int) -> tuple[float, float, float, float]:
    """A box, in fractions of the image turned `turn` degrees counter-clockwise (PIL's rotate), in fractions
    of the image before it was turned."""
    x0, y0, x1, y1 = box
    if turn == 90:  # (x, y) went to (y, 1 - x)
        return (1 - y1, x0, 1 - y0, x1)
    if turn == 180:  # (x, y) went to (1 - x, 1 - y)
        return (1 - x1, 1 - y1, 1 - x0, 1 - y0)
    if turn == 270:  # (x, y) went to (1 - y, x)
        return (y0, 1 - x1, y1, 1 - x0)
    return (x0, y0, x1, y1)


def read_lines(image) -> list[Line]:
    import numpy

    # Every step named each time: RapidOCR keeps the last call's choices for the next one.
    result = engine()(numpy.asarray(image.convert("RGB")), use_det=True, use_cls=False, use_rec=True)
    if result.boxes is None or not result.txts:
        return []
    lines = []
    for points, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs, ys = [point[0] for point in points], [point[1] for point in points]
        if text.strip():
            box = (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))
            lines.append(Line(text.strip(), float(score), box))
    return lines


def assemble(lines: list[Line], size: tuple[int, int]) -> tuple[str, tuple]:
    """The page's text from its lines, and for each piece of it where it is on the page.

    Pieces whose middles are level make one row, left to right; rows go top to bottom, a blank line between
    them where the gap is wider than a line (a new paragraph). A word broken at a row's end is left as it is
    ("dan-" / "gerous"): page_cleaning joins it, as on every page. Returns (text, boxes): each box is (start,
    end, x0, y0, x1, y1), offsets into the text and fractions of the page's width and height."""
    width, height = size
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= middle <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    heights = [row[0].box[3] - row[0].box[1] for row in rows]
    usual = statistics.median(heights) if heights else 0
    text, boxes = "", []
    previous_bottom = None
    for row in rows:
        row.sort(key=lambda line: line.box[0])
        top = min(line.box[1] for line in row)
        if text:
            text += "\n\n" if previous_bottom is not None and top - previous_bottom > usual else "\n"
        for index, line in enumerate(row):
            if index:
                text += " "
            start = len(text)
            text += line.text
            x0, y0, x1, y1 = line.box
            boxes.append((start, len(text), x0 / width, y0 / height, x1 / width, y1 / height))
        previous_bottom = max(line.box[3] for line in row)
    return text, tuple(boxes)


def regions(boxes: tuple, start: int, end: int) -> list[list[float]]:
    """The boxes of the pieces of a page's text that overlap characters start to end: where a passage is."""
    return [[round(edge, 4) for edge in box[2:]] for box in boxes if box[0] < end and box[1] > start]
