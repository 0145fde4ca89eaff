"""OCR: how well and how fast scans are read, and what the real-world PDF set gives with it.

Usage: python bench/ocr.py [--skip-real-world] [--pdfs ../shared/eval/pdfs]

1. Pages drawn here from known text (testkit/scans.py: three fonts, 10 and 12 point, 150 and 300 dpi, and
   pages turned a quarter and a half), saved as PDFs of pictures and read the way the worker reads them:
   ocr.read_page in the sandbox's OCR child, under OCR_MEMORY_MB. Printed per page: character error rate
   (edit distance over the known text's length, whitespace runs counted as one space), seconds; then the
   OCR child's peak resident memory, and that after each page (flat, not growing, is the target).
2. Every PDF of the real-world set through the whole pipeline in this process (SQLite in a temporary
   folder): how many end ready and failed, the reason for each failure, and the pages read by OCR.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIGITS = "Invoice 2024-117 of 3 March: 14 crates at 12.50 each, 175.00 in all, due within 30 days."


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def error_rate(read: str, truth: str) -> float:
    from rapidfuzz.distance import Levenshtein

    read, truth = " ".join(read.split()), " ".join(truth.split())
    return Levenshtein.distance(read, truth) / len(truth)


def resident_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure_scans(folder: Path) -> None:
    from django.conf import settings

    from ingestion import ocr, pipeline, sandbox
    from testkit.documents import TOPIC_PAGES
    from testkit.scans import available_fonts, draw_page, save_scan

    paragraphs = [*TOPIC_PAGES, DIGITS]
    truth = " ".join(paragraphs)
    cases = [(font, points, dpi, 0) for font in available_fonts() for points in (10, 12) for dpi in (150, 300)]
    cases += [("Liberation Sans", 11, 200, 90), ("DejaVu Serif", 11, 200, 180)]
    print(f"{'font':<16} {'pt':>3} {'dpi':>4} {'turn':>4} {'CER':>7} {'seconds':>8} {'child RSS MB':>12}")
    rates, seconds = [], []
    peaks = []
    for font, points, dpi, turn in cases:
        scan = save_scan(folder / f"{font}-{points}-{dpi}-{turn}.pdf", [draw_page(paragraphs, dpi=dpi, font=font,
                         points=points, turn=turn)], dpi=dpi)  # fmt: skip
        started = time.perf_counter()
        page = sandbox.run(ocr.read_page, scan, "pdf", 1, name=pipeline.OCR_SANDBOX,
                           memory_limit=settings.OCR_MEMORY_MB * 1024**2, deadline=time.monotonic() + 600)  # fmt: skip
        took = time.perf_counter() - started
        child = sandbox._sandboxes[pipeline.OCR_SANDBOX].process.pid
        rss = resident_kb(child, "VmRSS") / 1024
        peaks.append(resident_kb(child, "VmHWM") / 1024)
        rate = error_rate(page.text, truth)
        rates.append(rate)
        seconds.append(took)
        print(f"{font:<16} {points:>3} {dpi:>4} {turn:>4} {rate:>7.2%} {took:>8.1f} {rss:>12.0f}")
    upright = [rate for rate, case in zip(rates, cases, strict=True) if case[3] == 0]
    print(f"\nCER: mean {sum(upright) / len(upright):.2%} upright ({len(upright)} pages), worst {max(rates):.2%};"
          f" turned pages {', '.join(f'{rate:.2%}' for rate in rates[len(upright):])}")  # fmt: skip
    print(f"seconds per page: mean {sum(seconds) / len(seconds):.1f} (the first includes loading the models)")
    print(f"OCR child peak RSS: {peaks[0]:.0f} MB after the first page, {peaks[-1]:.0f} MB after the last")
    sandbox.stop(pipeline.OCR_SANDBOX)


def measure_real_world(pdfs: Path) -> None:
    from ingestion import pipeline, services
    from ingestion.models import Document

    corpus = services.create_corpus(name="real-world")
    rows = []
    for path in sorted(pdfs.glob("*.pdf")):
        with open(path, "rb") as f:
            document = services.accept_upload(file=f, name=path.name, corpus=corpus, send=False).document
        started = time.perf_counter()
        pipeline.ingest_document(document.pk)
        document = Document.objects.get(pk=document.pk)
        rows.append((path.name, document, time.perf_counter() - started))
    ready = [row for row in rows if row[1].status == Document.Status.READY]
    print(f"\nReal-world PDFs: {len(ready)} ready, {len(rows) - len(ready)} failed, of {len(rows)}")
    for name, document, took in rows:
        ocr_pages = getattr(document, "ocr_pages_total", 0)
        if ocr_pages:
            print(f"  OCR: {name}: {ocr_pages} page(s) read in {took:.1f} s, {document.status}, "
                  f"{document.chunks_total} passages")  # fmt: skip
    for name, document, _ in rows:
        if document.status != Document.Status.READY:
            print(f"  failed: {name}: {document.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-real-world", action="store_true")
    parser.add_argument("--skip-scans", action="store_true")
    parser.add_argument("--pdfs", type=Path, default=ROOT.parent / "shared" / "eval" / "pdfs")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        if not options.skip_scans:
            measure_scans(Path(data_dir))
        if not options.skip_real_world:
            if options.pdfs.is_dir():
                measure_real_world(options.pdfs)
            else:
                print(f"\n{options.pdfs} is not here: the real-world set was not measured")


if __name__ == "__main__":
    main()
