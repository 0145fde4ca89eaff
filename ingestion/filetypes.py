"""File type detection from a file's content; the name only tells Markdown from plain text."""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import puremagic

PDF = "pdf"
DOCX = "docx"
HTML = "html"
MARKDOWN = "markdown"
RST = "rst"
TEXT = "text"
IMAGE = "image"  # a scan or photo, read by OCR
UNSUPPORTED = "unsupported"

EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", HTML: ".html", MARKDOWN: ".md", RST: ".rst", TEXT: ".txt",
              IMAGE: ".image"}  # fmt: skip
LABELS = {PDF: "PDF", DOCX: "Word", HTML: "HTML", MARKDOWN: "Markdown", RST: "reStructuredText", TEXT: "Text",
          IMAGE: "Picture", UNSUPPORTED: "Unsupported"}  # fmt: skip
SUPPORTED_NAMES = "PDF, Word (.docx), HTML, Markdown, reStructuredText, plain text or picture (PNG, JPEG, TIFF)"
# Scans and photos, by their first bytes: (signature, description, media type if browsers draw it).
IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "image/png"),
    (b"\xff\xd8\xff", "a JPEG image", "image/jpeg"),
    (b"II*\x00", "a TIFF image", None),
    (b"MM\x00*", "a TIFF image", None),
)

EMPTY = "an empty file"
SNIFF_BYTES = 64 * 1024
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
RST_SUFFIXES = {".rst", ".rest"}
TEXT_SUFFIXES = {".txt", ".text"}
# What an HTML page opens with once its XML declaration and comments are skipped (html_starts_at does
# that in a loop: a pattern with a repeated comment group backtracks exponentially on unclosed comments).
HTML_TAG = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title)\b", re.IGNORECASE)
WHITESPACE = re.compile(rb"\s*")
MARKDOWN_HEADING = re.compile(r"^#{1,6} \S", re.MULTILINE)
NAMED_FORMATS = {".pdf": (PDF, "a PDF"), ".docx": (DOCX, "a Word document")}
ZIP_FORMATS = {
    "xl/": "an Excel spreadsheet",
    "ppt/": "a PowerPoint presentation",
    "META-INF/container.xml": "an EPUB e-book",
}


@dataclass(frozen=True)
class Detection:
    file_type: str
    description: str  # a phrase for messages, e.g. "a PNG image"

    @property
    def is_supported(self) -> bool:
        return self.file_type != UNSUPPORTED

    @property
    def problem(self) -> str:
        """What to tell the user when the type is unsupported."""
        if self.description == EMPTY:
            return "The file is empty."
        return f"This file is {self.description}. We can read {SUPPORTED_NAMES} files."


def detect_file_type(path: Path, filename: str = "") -> Detection:
    """Says what a file is by looking at its bytes."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        return Detection(UNSUPPORTED, EMPTY)
    detection = detect_from_content(path, head, filename)
    claimed = NAMED_FORMATS.get(Path(filename).suffix.lower())
    if claimed and detection.file_type != claimed[0]:
        # A ".pdf" full of something else is a damaged or renamed file, not text to index.
        return Detection(UNSUPPORTED, f"named like {claimed[1]} but does not contain one: it may be damaged or renamed")
    return detection


def detect_from_content(path: Path, head: bytes, filename: str) -> Detection:
    if b"%PDF-" in head[:1024]:
        return Detection(PDF, "a PDF")
    if head.startswith(b"PK\x03\x04"):
        return detect_zip(path)
    for signature, description, _ in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return Detection(IMAGE, description)
    if looks_like_text(head):
        if starts_like_html(head):
            return Detection(HTML, "an HTML page")
        if Path(filename).suffix.lower() in RST_SUFFIXES:
            return Detection(RST, "a reStructuredText file")
        if is_markdown(head, filename):
            return Detection(MARKDOWN, "a Markdown file")
        return Detection(TEXT, "a text file")
    return Detection(UNSUPPORTED, describe_binary(head))


def detect_zip(path: Path) -> Detection:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except Exception:
        # Not only BadZipFile: a broken directory can raise NotImplementedError, ValueError, struct.error...
        return Detection(UNSUPPORTED, "a damaged ZIP archive")
    if "word/document.xml" in names:
        return Detection(DOCX, "a Word document")
    for marker, description in ZIP_FORMATS.items():
        if any(name.startswith(marker) for name in names):
            return Detection(UNSUPPORTED, description)
    return Detection(UNSUPPORTED, "a ZIP archive")


def looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte order mark
    if b"\x00" in head:
        return False
    sample = head.decode("utf-8", errors="replace")
    # Allow a few bad bytes at the cut-off point or from a legacy encoding.
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls <= len(sample) * 0.01


def starts_like_html(head: bytes) -> bool:
    """Whether the bytes open with an HTML tag, after a byte order mark, an XML declaration and comments."""
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    position = WHITESPACE.match(head, position).end()
    if head.startswith(b"<?xml", position):
        end = head.find(b">", position)
        if end < 0:
            return False
        position = WHITESPACE.match(head, end + 1).end()
    while head.startswith(b"<!--", position):
        end = head.find(b"-->", position + 4)
        if end < 0:
            return False
        position = WHITESPACE.match(head, end + 3).end()
    return HTML_TAG.match(head, position) is not None


def is_markdown(head: bytes, filename: str) -> bool:
    suffix = Path(filename).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return True
    if suffix in TEXT_SUFFIXES:
        return False  # a .txt that happens to start with "# " is still what its owner called it
    return bool(MARKDOWN_HEADING.search(head.decode("utf-8", errors="replace")))


def describe_binary(head: bytes) -> str:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    if not matches:
        return "a file of an unknown type"
    best = matches[0]
    label = best.name or best.mime_type or "file"
    return f"a {label} ({best.extension})" if best.extension else f"a {label}"


def drawn_media_type(head: bytes) -> str | None:
    """The media type of a picture browsers draw (PNG, JPEG), from its first bytes; None for anything else."""
    return next((media for signature, _, media in IMAGE_SIGNATURES if head.startswith(signature)), None)
