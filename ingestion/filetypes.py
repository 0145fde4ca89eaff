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
TEXT = "text"
UNSUPPORTED = "unsupported"

EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", HTML: ".html", MARKDOWN: ".md", TEXT: ".txt"}
LABELS = {PDF: "PDF", DOCX: "Word", HTML: "HTML", MARKDOWN: "Markdown", TEXT: "Text", UNSUPPORTED: "Unsupported"}
SUPPORTED_NAMES = "PDF, Word (.docx), HTML, Markdown or plain text"

EMPTY = "an empty file"
SNIFF_BYTES = 64 * 1024
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title)\b",
    re.IGNORECASE | re.DOTALL,
)
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
    if looks_like_text(head):
        if HTML_START.match(head.lstrip(b"\xef\xbb\xbf")):
            return Detection(HTML, "an HTML page")
        if is_markdown(head, filename):
            return Detection(MARKDOWN, "a Markdown file")
        return Detection(TEXT, "a text file")
    return Detection(UNSUPPORTED, describe_binary(head))


def detect_zip(path: Path) -> Detection:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
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


def is_markdown(head: bytes, filename: str) -> bool:
    if Path(filename).suffix.lower() in MARKDOWN_SUFFIXES:
        return True
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
