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
