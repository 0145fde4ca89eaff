"""How long a citation takes to land: from opening a cited passage's link to the passage highlighted
on its page, in Chromium, for PDFs of 5, 117 (a real one, when ../shared is here) and 1,000 pages.

Usage: python bench/pdf_view.py [--runs 5]
Sets up its own data folder (SQLite), ingests the PDFs in this process, starts `manage.py runserver`
and drives Debian's Chromium (/usr/bin/chromium) with Playwright. "first" is a fresh browser profile
(PDF.js and the PDF are fetched); "again" is the same tab opening the link once more (both cached).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_pdfs(folder: Path) -> list[tuple[str, Path, int]]:
    """(label, file, cited page) for each PDF to measure."""
    from testkit.documents import TOPIC_PAGES, long_pages, make_pdf

    pdfs = [
        ("5 pages", make_pdf(folder / "five.pdf", pages=TOPIC_PAGES), 4),
        ("1,000 pages", make_pdf(folder / "thousand.pdf", pages=long_pages(1000)), 950),
    ]
    real = SHARED / "eval" / "pdfs" / "sf_009_GeoTopo-117-pages.pdf"
    if real.exists():
        pdfs.insert(1, ("117 pages (real)", real, 100))
    return pdfs


def ingest(pdfs: list[tuple[str, Path, int]]) -> list[tuple[str, str]]:
    """Stores and ingests each PDF; returns (label, the cited passage's URL path)."""
    from ingestion import services
    from ingestion.tasks import ingest

    corpus = services.create_corpus(name="Bench")
    links = []
    for label, path, page in pdfs:
        with open(path, "rb") as f:
            document = services.accept_upload(file=f, name=path.name, corpus=corpus, send=False).document
        ingest(document.pk)  # here, without a worker
        document.refresh_from_db()
        assert document.status == document.Status.READY, document.error
        chunk = document.chunks.filter(page=page).order_by("ordinal").first()
        links.append((label, f"{document.get_absolute_url()}?passage={chunk.pk}#page={page}"))
    return links


def landing_ms(page, url: str) -> float:
    """Milliseconds from the start of navigation to the passage highlighted on its page."""
    page.goto(url)
    page.wait_for_selector(".pdf-page[data-target] .textLayer .highlight", timeout=120_000)
    return page.evaluate("performance.now()")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-pdf-view-"))
    # Plain HTTP on 127.0.0.1, as `make run` serves it (DEBUG stays off).
    env = {**os.environ, "DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "config.settings", "HTTPS": "0"}
    env.pop("DATABASE_URL", None)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="bench", password=PASSWORD, is_staff=True)
    print("Ingesting…", flush=True)
    links = ingest(make_pdfs(data))

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        from playwright.sync_api import sync_playwright

        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            print(f"\nFrom opening a citation to its passage highlighted, median of {args.runs} (ms):")
            print(f"{'PDF':<18} {'cited page':>10} {'first':>8} {'again':>8}")
            for label, path in links:
                first, again = [], []
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.goto(base + "/accounts/login/")
                    page.fill("#id_username", "bench")
                    page.fill("#id_password", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(base + "/")
                    first.append(landing_ms(page, base + path))
                    page.goto("about:blank")  # the same URL again would only move to its #page
                    again.append(landing_ms(page, base + path))
                    context.close()
                cited = path.rsplit("=", 1)[1]
                print(f"{label:<18} {cited:>10} {statistics.median(first):>8.0f} {statistics.median(again):>8.0f}")
            browser.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
