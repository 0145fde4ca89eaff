"""Test documents, generated on the spot: no third-party files in the repository."""

from pathlib import Path

# Five pages on unrelated topics: a question about one of them has one right page.
TOPIC_PAGES = [
    "Volcanoes form where magma rises through the crust. Basaltic eruptions are effusive, "
    "with lava flowing for kilometres, while andesitic volcanoes explode violently.",
    "Sourdough bread rises because wild yeast and lactic acid bacteria ferment the dough. "
    "A starter is fed with flour and water every day to keep the culture active.",
    "The Arctic tern migrates from the Arctic to the Antarctic and back each year, "
    "the longest migration of any animal, covering about seventy thousand kilometres.",
    "Copper wiring conducts electricity well because its outer electrons move freely. "
    "Aluminium is lighter and cheaper but needs thicker cables for the same current.",
    "Chess openings such as the Sicilian Defence fight for the centre from the flank. "
    "White's first move advantage is small but measurable in grandmaster games.",
]


def make_pdf(path: Path, *, pages: list[str], title: str | None = None) -> Path:
    """A PDF with one page per string; an empty string makes a page without text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")  # a picture, no text layer
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, *, password: str, pages: list[str]) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(path.with_suffix(".plain.pdf"), pages=pages)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path


def make_docx(path: Path, *, title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    document.save(str(path))
    return path


def long_pages(count: int, *, words_per_page: int = 350) -> list[str]:
    """Pages of varied ordinary English, each naming its page number."""
    sentences = [
        "The committee reviewed the budget for the coming year and approved most of the requests.",
        "Rain fell steadily over the valley while the river slowly rose against its banks.",
        "Engineers measured the load on the bridge and found it within the safety margin.",
        "The library extended its opening hours so that students could study in the evening.",
        "A new bus route connects the northern suburbs with the hospital and the station.",
        "Farmers planted barley early this spring because the soil had warmed sooner than usual.",
    ]
    pages = []
    for number in range(1, count + 1):
        words: list[str] = [f"Page {number} report."]
        index = number
        while len(words) < words_per_page:
            words.extend(sentences[index % len(sentences)].split())
            index += 1
        pages.append(" ".join(words))
    return pages


def make_docx_bomb(path: Path, *, unpacked_bytes: int, understate: bool = False) -> Path:
    """A Word file whose document.xml unpacks to unpacked_bytes (one long run of text) from a few KB per MB.

    With understate, the zip's directory claims the member is 1,000 bytes, as a hostile file can."""
    import struct
    import zipfile

    plain = make_docx(path.with_suffix(".plain.docx"), title="Bomb", paragraphs=["x"])
    head = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, source.read(item))
                continue
            info = zipfile.ZipInfo("word/document.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=unpacked_bytes > 2**31) as member:
                member.write(head)
                block = b"A" * (1024 * 1024)
                for _ in range((unpacked_bytes - len(head) - len(tail)) // len(block)):
                    member.write(block)
                member.write(tail)
    plain.unlink()
    if understate:
        data = bytearray(path.read_bytes())
        name = b"word/document.xml"
        local = data.find(name) - 30  # the local header comes first, 30 bytes before its name
        central = data.find(b"PK\x01\x02", local)
        while data[central + 46 : central + 46 + len(name)] != name:
            central = data.find(b"PK\x01\x02", central + 4)
        struct.pack_into("<I", data, local + 22, 1000)
        struct.pack_into("<I", data, central + 24, 1000)
        path.write_bytes(bytes(data))
    return path


def make_flate_pdf_bomb(path: Path, *, unpacked_bytes: int, fill: bytes = b" ") -> Path:
    """A one-page PDF whose content stream inflates to unpacked_bytes of fill, repeated (spaces: a bomb;
    text operators: a page that takes long to read)."""
    import zlib

    compressor = zlib.compressobj(9)
    block = fill * (1024 * 1024 // len(fill))
    parts = [compressor.compress(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET\n")]
    for _ in range(unpacked_bytes // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    path.write_bytes(raw_pdf(b"".join(parts), filters=b"/Filter /FlateDecode"))
    return path


def raw_pdf(content: bytes, *, filters: bytes = b"") -> bytes:
    """A one-page PDF (Helvetica as /F1) around a content stream given as is, written by hand so that
    the stream can hold anything."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d %s >>\nstream\n" % (len(content), filters) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
