"""Text extraction: a stored file in, pages of plain text out.

Every failure a user can cause becomes an ExtractionError whose message is meant for them.
"""

import datetime
import hashlib
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from . import filetypes, markup, ocr
from .extracted import ExtractionError, FinalExtractionError, Page, PasswordNeeded

ENCRYPTED = (
    "This PDF is protected by a password. Give the password on this document's page to read it (it is used "
    "once and not kept), or upload a copy without the password."
)
WRONG_PASSWORD = "That password does not open this PDF. Check it and try again."
DAMAGED_PDF = "This PDF is damaged and could not be read. Try saving it again from the program that made it."
DAMAGED_DOCX = "This Word document is damaged and could not be read. Try saving it again from Word."
TOO_MUCH_UNPACKED = (
    "This file unpacks to more than {size}, more than we read from one document; it may be a "
    "compressed bomb. Save it without its largest pictures, or split it, and upload it again."
)
# A Word file is a zip: what its members add up to once unpacked, at most (the pipeline passes its setting).
MAX_UNPACKED_BYTES = 512 * 1024**2
UNPACK_STEP = 1024**2
UNKNOWN_ENCODING = (
    "The text in this file is in an encoding we could not recognise. Save it as UTF-8 and upload it again."
)

# Keep tabs and line breaks; drop other control characters (NUL bytes break PostgreSQL text).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BLANK_LINES = re.compile(r"\n{3,}")
# Unicode's other line breaks (line and paragraph separators, next line) become plain ones.
OTHER_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
# Longer titles (a PDF's /Title can hold a whole abstract) are cut, with an ellipsis, wherever they are kept or shown.
TITLE_MAX_CHARS = 200
# Titles that authoring tools fill in by themselves; the file name says more.
PLACEHOLDER_TITLES = frozenset(
    ["untitled", "untitled document", "no title", "title", "document", "new document", "presentation",
     "powerpoint presentation", "slide 1", "page 1", "(anonymous)", "anonymous", "default", "none", "null"]
)  # fmt: skip
TOOL_PREFIXES = ("microsoft word - ", "microsoft powerpoint - ", "microsoft excel - ", "untitled-", "untitled ")
FILE_EXTENSIONS = frozenset(
    ["pdf", "doc", "docx", "odt", "rtf", "txt", "md", "htm", "html", "tex", "ps", "ppt", "pptx", "xls", "xlsx",
     "indd", "pages", "key", "jpg", "jpeg", "png", "tif", "tiff"]
)  # fmt: skip
WORDS = re.compile(r"[^\W_]+")
DATE_META_NAMES = ("date", "dc.date", "dcterms.date", "article:published_time", "citation_date", "pubdate")


@dataclass(frozen=True)
class Metadata:
    title: str
    date: datetime.date | None
    page_count: int  # 1 for formats without pages


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(OTHER_LINE_BREAKS)
    return CONTROL_CHARS.sub("", text)


def shorten(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The text on one line, cut at a word near `limit` characters with an ellipsis when it is longer."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


class TextDigest:
    """SHA-256 of a text's words, case, whitespace and punctuation aside, fed a page at a time: the same
    book as plain text and as a web page has the same digest."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def add(self, text: str) -> None:
        for word in WORDS.findall(text.casefold()):
            self.digest.update(word.encode() + b" ")

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


def read_metadata(path: Path, file_type: str, *, max_unpacked: int = MAX_UNPACKED_BYTES) -> Metadata:
    metadata = read_raw_metadata(path, file_type, max_unpacked=max_unpacked)
    title = shorten(metadata.title) if is_meaningful_title(metadata.title) else ""
    return Metadata(title=title, date=metadata.date, page_count=metadata.page_count)


def is_meaningful_title(title: str) -> bool:
    """Whether a document's own title says more than its file name: not a tool's placeholder ("Untitled",
    "Microsoft Word - report.docx"), nor a file name itself ("Binder1.pdf")."""
    words = " ".join(title.split()).strip(" -_.").lower()
    if not words or words in PLACEHOLDER_TITLES or words.startswith(TOOL_PREFIXES):
        return False
    return not looks_like_file_name(words)


def looks_like_file_name(text: str) -> bool:
    """ "binder1.pdf", "report final (2).docx": a name, then a document or picture extension."""
    name, dot, extension = text.rpartition(".")
    return bool(dot and name) and extension in FILE_EXTENSIONS and all(ch.isalnum() or ch in " _.()-" for ch in name)


def read_raw_metadata(path: Path, file_type: str, *, max_unpacked: int) -> Metadata:
    if file_type == filetypes.PDF:
        return read_pdf_metadata(path)
    if file_type == filetypes.DOCX:
        return read_docx_metadata(path, max_unpacked=max_unpacked)
    if file_type == filetypes.HTML:
        return read_html_metadata(decode_text(path.read_bytes()))
    if file_type == filetypes.MARKDOWN:
        source = decode_text(path.read_bytes())
        front, _ = markup.split_front_matter(source)
        title = clean_text(front.title) or markdown_title(source)
        return Metadata(title=title, date=parse_iso_date(front.date), page_count=1)
    if file_type == filetypes.IMAGE:
        return Metadata(title="", date=None, page_count=ocr.image_frame_count(path))
    return Metadata(title="", date=None, page_count=1)


def iter_pages(path: Path, file_type: str, *, pages_per_reader: int = 200) -> Iterator[Page]:
    """Yields the document's pages in order; a long PDF is read a stretch of pages at a time."""
    if file_type not in (filetypes.PDF, filetypes.IMAGE):
        yield from read_pages(path, file_type, 0, 1)
        return
    page_count = read_metadata(path, file_type).page_count
    for start in range(0, page_count, pages_per_reader):
        yield from read_pages(path, file_type, start, start + pages_per_reader)


def read_pages(
    path: Path, file_type: str, start: int, stop: int, *, max_unpacked: int = MAX_UNPACKED_BYTES
) -> list[Page]:
    """Pages start to stop (0-based, stop excluded) of the document; every format but PDF is one page.

    Each call opens the file afresh: pypdf caches every object it parses, so a reader kept for a long
    document would hold all of it in memory."""
    if file_type == filetypes.PDF:
        reader = open_pdf(path)
        return [read_pdf_page(reader, index) for index in range(start, min(stop, len(reader.pages)))]
    if file_type == filetypes.IMAGE:
        # Every picture is read by OCR, a page at a time, in the pipeline.
        count = ocr.image_frame_count(path)
        return [Page(number=number, text="", needs_ocr=True) for number in range(start + 1, min(stop, count) + 1)]
    if start > 0:
        return []
    if file_type == filetypes.DOCX:
        return [read_docx_page(path, max_unpacked=max_unpacked)]
    if file_type == filetypes.HTML:
        html = decode_text(path.read_bytes())
        return [marked_page(markup.Marked(html_to_text(html), markup.html_headings(html)))]
    if file_type == filetypes.MARKDOWN:
        return [marked_page(markup.read_markdown(decode_text(path.read_bytes())))]
    if file_type == filetypes.RST:
        return [marked_page(markup.read_rst(decode_text(path.read_bytes())))]
    if file_type == filetypes.TEXT:
        return [Page(number=None, text=clean_text(decode_text(path.read_bytes())))]
    raise FinalExtractionError(f"We can't read this kind of file. Upload {filetypes.SUPPORTED_NAMES} files.")


# PDF


def open_pdf(path: Path):  # -> pypdf.PdfReader
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, WrongPasswordError

    try:
        reader = PdfReader(path, strict=False)
        # Many PDFs are "encrypted" with an empty password only to set permissions.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise PasswordNeeded(ENCRYPTED)
        len(reader.pages)
    except (ExtractionError, MemoryError):
        raise  # MemoryError: the sandbox says what happened, in words
    except (FileNotDecryptedError, WrongPasswordError, DependencyError) as exc:
        raise PasswordNeeded(ENCRYPTED) from exc
    except Exception as exc:
        # pypdf raises many types on malformed files (even AttributeError): all mean "damaged".
        raise ExtractionError(DAMAGED_PDF) from exc
    return reader


def write_unlocked_pdf(path: Path, password: str, out: Path) -> None:
    """Writes a copy of the PDF without its encryption, if the password opens it; the password is used here
    and nowhere else (the caller neither stores nor logs it)."""
    from pypdf import PasswordType, PdfReader, PdfWriter

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and reader.decrypt(password) == PasswordType.NOT_DECRYPTED:
            raise ExtractionError(WRONG_PASSWORD)
        PdfWriter(clone_from=reader).write(out)
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        raise ExtractionError(DAMAGED_PDF) from exc


def read_pdf_metadata(path: Path) -> Metadata:
    reader = open_pdf(path)
    title, date = "", None
    try:
        info = reader.metadata
        if info is not None:
            title = (info.title or "").strip()
            created = info.creation_date or info.modification_date
            date = created.date() if created else None
    except MemoryError:
        raise
    except Exception:
        pass  # unreadable metadata does not make the text unreadable
    return Metadata(title=clean_text(title), date=date, page_count=len(reader.pages))


def read_pdf_page(reader, index: int) -> Page:
    try:
        page = reader.pages[index]
        text = normalize_pdf_text(page.extract_text() or "")
    except MemoryError:
        raise  # not this page's fault alone: the whole file is more than we read
    except Exception:
        # Its image may still be readable (a scan with a broken text layer).
        return Page(number=index + 1, text="", is_unreadable=True, needs_ocr=True)
    # Whether it draws a picture matters only for a page with little text; the check reads its content stream.
    has_image = ocr.letter_count(text) < ocr.THIN_TEXT_LETTERS and ocr.pdf_page_has_image(page)
    if ocr.needs_ocr(text, has_image=has_image):
        # The text layer goes along: OCR may find less in the picture than it holds (ocr.better_reading).
        return Page(number=index + 1, text=text, needs_ocr=True)
    return Page(number=index + 1, text=text)


def normalize_pdf_text(text: str) -> str:
    # NFKC turns ligatures and presentation forms into the letters people search for.
    return clean_text(unicodedata.normalize("NFKC", text))


# DOCX


def check_unpacked_size(path: Path, max_unpacked: int) -> None:
    """Refuses a zip-based file whose members unpack to more than max_unpacked bytes in all.

    By the sizes its directory declares first, then by unpacking each member a megabyte at a time: zipfile's
    read() of a whole member inflates all it holds before cutting it to the declared size, so a member that
    claims 1 KB can still take a gigabyte (a member that holds more than it declares then fails its
    checksum here, as damaged)."""
    too_much = ExtractionError(TOO_MUCH_UNPACKED.format(size=format_size(max_unpacked)))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > max_unpacked:
                raise too_much
            unpacked = 0
            for member in members:
                with archive.open(member) as stream:
                    while block := stream.read(UNPACK_STEP):
                        unpacked += len(block)
                        if unpacked > max_unpacked:
                            raise too_much
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        # zipfile raises more than BadZipFile on a broken file: NotImplementedError ("zip file version
        # 6.8"), ValueError, struct.error, zlib.error, UnicodeDecodeError...
        raise ExtractionError(DAMAGED_DOCX) from exc


def format_size(size: int) -> str:
    return f"{size / 1024**3:g} GB" if size >= 1024**3 else f"{size / 1024**2:g} MB"


def open_docx(path: Path, *, max_unpacked: int):  # -> docx.document.Document
    import docx

    check_unpacked_size(path, max_unpacked)
    with reading_docx():
        return docx.Document(str(path))


@contextmanager
def reading_docx() -> Iterator[None]:
    """python-docx reads parts as they are used, so a broken file can fail at any step: as damaged."""
    try:
        yield
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        raise ExtractionError(DAMAGED_DOCX) from exc


def read_docx_metadata(path: Path, *, max_unpacked: int) -> Metadata:
    document = open_docx(path, max_unpacked=max_unpacked)
    with reading_docx():
        properties = document.core_properties
        created = properties.created or properties.modified
        title = properties.title or ""
    return Metadata(title=clean_text(title.strip()), date=created.date() if created else None, page_count=1)


def read_docx_page(path: Path, *, max_unpacked: int) -> Page:
    from docx.table import Table

    document = open_docx(path, max_unpacked=max_unpacked)
    blocks, headings = [], []
    with reading_docx():
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    blocks.append(" | ".join(cell.text.strip() for cell in row.cells))
            elif block.text.strip():
                blocks.append(block.text.strip())
                if level := docx_heading_level(block.style.name if block.style is not None else ""):
                    headings.append((level, block.text.strip()))
    return marked_page(markup.Marked("\n\n".join(blocks), headings))


def docx_heading_level(style_name: str) -> int:
    """1 for Word's "Title", N for "Heading N"; 0 for a paragraph that is not a heading."""
    if style_name == "Title":
        return 1
    name, _, number = style_name.rpartition(" ")
    return int(number) + 1 if name == "Heading" and number.isdigit() else 0


def marked_page(marked: markup.Marked) -> Page:
    return Page(number=None, text=clean_text(marked.text),
                headings=tuple((level, clean_text(title)) for level, title in marked.headings))  # fmt: skip


# HTML and text


def decode_text(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A cut-off file can end in half a character or a lone surrogate.
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw[: 1024 * 1024]).best()
    if best is None or best.encoding is None:
        raise ExtractionError(UNKNOWN_ENCODING)
    return raw.decode(best.encoding, errors="replace")


def html_to_text(html: str) -> str:
    from inscriptis import get_text
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    if not html.strip():
        return ""
    # inscriptis lays out block elements on their own lines and skips scripts and styles. Its strict profile
    # lays out inline elements as a browser does: a drop capital (<span class="dropcap">T</span>o) stays one
    # word, where the default pads it apart ("T o Sherlock").
    text = get_text(html, ParserConfig(css=CSS_PROFILES["strict"]))
    lines = [line.strip() for line in text.splitlines()]
    return clean_text(BLANK_LINES.sub("\n\n", "\n".join(lines)).strip())


def read_html_metadata(html: str) -> Metadata:
    import lxml.html

    title, date = "", None
    try:
        tree = lxml.html.document_fromstring(html)
    except MemoryError:
        raise
    except Exception:
        return Metadata(title="", date=None, page_count=1)
    title = " ".join((tree.findtext(".//title") or "").split())
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").lower()
        if key in DATE_META_NAMES:
            date = parse_iso_date(meta.get("content") or "")
            if date:
                break
    return Metadata(title=clean_text(title), date=date, page_count=1)


def parse_iso_date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def markdown_title(text: str) -> str:
    """The first level-1 ATX heading ("# Title", "# Title #") in the first 10,000 characters, or ""."""
    # Line by line rather than one pattern: "^# +(.+?)\s*#*\s*$" is cubic on a long run of spaces.
    for line in text[:10000].splitlines():
        if not line.startswith(("# ", "#\t")):
            continue
        title = line[2:].strip()
        without_closing = title.rstrip("#")
        # A closing run of "#" counts only after a space: "# C#" is titled "C#".
        if without_closing != title and (not without_closing or without_closing[-1] in " \t"):
            title = without_closing.strip()
        if title:
            return clean_text(title)
    return ""
