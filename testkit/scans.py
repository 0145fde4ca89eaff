"""Scans made here from known text: pages drawn as pictures, with no text layer, for OCR tests and bench/ocr.py."""

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONTS = {
    "DejaVu Sans": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "DejaVu Serif": Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
    # Vendored with PDF.js (SIL Open Font License): there on every machine that has the app.
    "Liberation Sans": ROOT / "static/vendor/pdfjs-6.5.438-legacy/standard_fonts/LiberationSans-Regular.ttf",
}
A4_INCHES = (8.27, 11.69)


def available_fonts() -> dict[str, Path]:
    return {name: path for name, path in FONTS.items() if path.exists()}


def draw_page(
    paragraphs: list[str], *, dpi: int = 200, font: str = "Liberation Sans", points: float = 12, turn: int = 0
) -> Image.Image:
    """An A4 page at `dpi` with the paragraphs set in `font` at `points`, turned `turn` degrees
    counter-clockwise (a page scanned sideways), as a greyscale picture."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    face = ImageFont.truetype(str(FONTS[font]), round(points * dpi / 72))
    margin = dpi  # one inch
    line_height = round(points * 1.5 * dpi / 72)
    average = face.getlength("abcdefghijklmnopqrstuvwxyz") / 26
    columns = max(20, int((width - 2 * margin) / average))
    y = margin
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, columns):
            draw.text((margin, y), line, font=face, fill=0)
            y += line_height
        y += line_height
    return page.rotate(turn, expand=True, fillcolor=255) if turn else page


def save_scan(path: Path, pages: list[Image.Image], dpi: int = 200) -> Path:
    """The pages as one file: a PDF of pictures (no text layer), or a PNG, JPEG or TIFF by the suffix."""
    first, rest = pages[0], pages[1:]
    if path.suffix == ".pdf":
        first.save(path, "PDF", resolution=dpi, save_all=True, append_images=rest)
    elif path.suffix in (".tif", ".tiff"):
        first.save(path, "TIFF", save_all=True, append_images=rest, dpi=(dpi, dpi), compression="tiff_deflate")
    else:
        first.save(path, dpi=(dpi, dpi))
    return path
