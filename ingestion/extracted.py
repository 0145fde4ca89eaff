"""What extraction gives back: pages of text, and errors whose messages are meant for the user."""

from dataclasses import dataclass


class ExtractionError(Exception):
    """A file we cannot read; the message is meant for the user."""


class FinalExtractionError(ExtractionError):
    """A file that no second try can read as it is (a password, a type we do not read): no Retry is offered."""


class PasswordNeeded(FinalExtractionError):
    """A PDF that opens only with its password, which its document page asks for."""


@dataclass(frozen=True)
class Page:
    number: int | None  # 1-based for PDFs; None for formats without pages
    text: str
    is_unreadable: bool = False  # the page itself failed to parse
    needs_ocr: bool = False  # no text layer worth keeping: its image is to be read (ocr.py)
    is_ocr: bool = False  # the text was read from the page's image
    # For OCR'd text: (start, end, x0, y0, x1, y1) per line piece, offsets into text and fractions of the page.
    boxes: tuple = ()
    # (level, title) of its headings in reading order, 1 the outermost; each is a line of text (sections.py).
    headings: tuple[tuple[int, str], ...] = ()
