"""What a decompression bomb costs the worker: a 1 GiB DOCX bomb and a 1 GiB Flate PDF bomb.

Usage: python bench/bombs.py [--gib 1]

Each bomb goes through the pipeline in a fresh process, as in a worker (the embedding model loaded
first), and a thread samples the resident memory of that process and of its sandbox child every 20 ms.
The DOCX bomb runs twice: with the defaults (its declared size is refused before it is read) and with
PARSE_MAX_UNPACKED_MB raised out of the way (then the sandbox's memory cap, PARSE_MEMORY_MB, stops it).
Printed per run: the outcome, the seconds, the worker process' resident memory before and at its peak,
and the sandbox child's peak. The issue's figure before the sandbox: 0.8 -> 2.85 GB for the worker.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024**2


def run_child(path: Path, unpacked_mb: int | None) -> dict:
    """Inside the fresh process: one bomb through the pipeline, with memory sampled meanwhile."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import psutil
    from django.conf import settings
    from django.core.management import call_command

    from ingestion import encoders, pipeline, services
    from ingestion.models import Document

    if unpacked_mb is not None:
        settings.PARSE_MAX_UNPACKED_MB = unpacked_mb
    call_command("migrate", verbosity=0)
    corpus = services.create_corpus(name="bombs")
    with open(path, "rb") as f:
        document = services.accept_upload(file=f, name=path.name, corpus=corpus, send=False).document
    encoders.encoder_for(corpus.embedding_model).encode(["warm up"])
    me = psutil.Process()
    before = me.memory_info().rss
    peaks = {"worker": before, "sandbox": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peaks["worker"] = max(peaks["worker"], me.memory_info().rss)
                for child in me.children():
                    peaks["sandbox"] = max(peaks["sandbox"], child.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    pipeline.ingest_document(document.pk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    document = Document.objects.get(pk=document.pk)
    return {
        "status": document.status,
        "error": document.error,
        "seconds": round(seconds, 1),
        "worker_rss_before_mb": round(before / MB),
        "worker_rss_peak_mb": round(peaks["worker"] / MB),
        "sandbox_rss_peak_mb": round(peaks["sandbox"] / MB),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=1.0, help="how much each bomb unpacks to")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        unpacked = None if args.child[1] == "default" else int(args.child[1])
        print(json.dumps(run_child(Path(args.child[0]), unpacked)))
        return

    from testkit.documents import make_docx_bomb, make_flate_pdf_bomb

    size = int(args.gib * 1024**3)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        docx = make_docx_bomb(folder / "bomb.docx", unpacked_bytes=size)
        pdf = make_flate_pdf_bomb(folder / "bomb.pdf", unpacked_bytes=size)
        runs = [
            (f"DOCX bomb, {docx.stat().st_size / MB:.1f} MB -> {args.gib:g} GiB, defaults", docx, "default"),
            ("DOCX bomb, PARSE_MAX_UNPACKED_MB=100000 (only the memory cap)", docx, "100000"),
            (f"Flate PDF bomb, {pdf.stat().st_size / MB:.1f} MB -> {args.gib:g} GiB, defaults", pdf, "default"),
        ]
        for label, path, unpacked in runs:
            env = {**os.environ, "DATA_DIR": str(folder / f"data-{unpacked}-{path.suffix[1:]}")}
            env.pop("DATABASE_URL", None)
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(path), unpacked],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{label}:")
            print(f"  {figures['status']} in {figures['seconds']} s: {figures['error']}")
            print(
                f"  worker {figures['worker_rss_before_mb']} MB -> peak {figures['worker_rss_peak_mb']} MB; "
                f"sandbox child peak {figures['sandbox_rss_peak_mb']} MB"
            )


if __name__ == "__main__":
    main()
