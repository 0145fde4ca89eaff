"""Ingestion throughput and memory: the encoder alone against the whole pipeline.

Usage: python bench/ingest.py [--pages 100 1000] [--backend torch|onnx]

For each size, a generated PDF goes through the pipeline in a fresh process, as in a worker: the
model is loaded first, then the document is extracted, chunked, embedded, indexed and written to
the database (SQLite in a temporary folder, or DATABASE_URL). The same process then encodes the
same chunk texts with sentence-transformers alone. Printed: both throughputs, their ratio (the
target is >= 0.85), the time per stage, and the process's peak memory (target: <= 1.5 GB, about
the same at 1,000 pages as at 100).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_child(pdf: Path) -> dict:
    """Runs inside the fresh process: one document through the pipeline, then the encoder alone."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from ingestion import encoders, pipeline, services
    from ingestion.models import Document
    from testkit.documents import long_pages

    call_command("migrate", verbosity=0)
    corpus = services.create_corpus(name="bench")
    with open(pdf, "rb") as f:
        document = services.accept_upload(file=f, name=pdf.name, corpus=corpus, send=False).document
    encoder = encoders.encoder_for(corpus.embedding_model)
    # Warm up on full-length passages, so neither measurement pays for the first batches.
    encoder.encode([" ".join(long_pages(1)[0].split()[:150])] * encoder.batch_size * 4)
    import psutil

    rss_loaded = psutil.Process().memory_info().rss
    started = time.perf_counter()
    pipeline.ingest_document(document.pk)
    pipeline_seconds = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    document = Document.objects.get(pk=document.pk)
    assert document.status == Document.Status.READY, document.error

    texts = list(document.chunks.order_by("ordinal").values_list("text", flat=True))
    started = time.perf_counter()
    encoder.model.encode(texts, batch_size=encoder.batch_size, normalize_embeddings=True, show_progress_bar=False)
    encoder_seconds = time.perf_counter() - started
    return {
        "pages": document.pages_total,
        "chunks": len(texts),
        "pipeline_seconds": pipeline_seconds,
        "encoder_seconds": encoder_seconds,
        "parse_seconds": document.parse_seconds,
        "embed_seconds": document.embed_seconds,
        "index_seconds": document.index_seconds,
        "rss_after_model_load": rss_loaded,
        "peak_rss": peak_rss,
    }


def measure(pages: int, workdir: Path, backend: str) -> dict:
    from testkit.documents import long_pages, make_pdf

    pdf = make_pdf(workdir / f"bench-{pages}.pdf", pages=long_pages(pages))
    data_dir = workdir / f"data-{pages}"
    data_dir.mkdir()
    # The ONNX export is made once, before: a worker finds it in the cache, as every worker but the first does.
    (data_dir / "models").symlink_to(workdir / "models")
    env = {**os.environ, "DATA_DIR": str(data_dir), "EMBEDDING_BACKEND": backend, "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(pdf)], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"The {pages}-page run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Ingestion throughput and peak memory.")
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--backend", choices=["torch", "onnx"], default=os.environ.get("EMBEDDING_BACKEND", "torch"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child)))
        return

    print(f"backend: {args.backend}; database: {'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'SQLite'}")
    header = (
        f"{'pages':>6} {'chunks':>7} {'encoder/s':>10} {'pipeline/s':>11} {'ratio':>6} "
        f"{'parse s':>8} {'embed s':>8} {'index s':>8} {'model MB':>9} {'peak MB':>8}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as workdir:
        if args.backend == "onnx":
            from ingestion import embeddings

            embeddings.load_encoder(embeddings.BUNDLED_MODEL, backend="onnx", cache_dir=Path(workdir) / "models")
        for pages in args.pages:
            r = measure(pages, Path(workdir), args.backend)
            encoder_rate = r["chunks"] / r["encoder_seconds"]
            pipeline_rate = r["chunks"] / r["pipeline_seconds"]
            print(
                f"{r['pages']:>6} {r['chunks']:>7} {encoder_rate:>10.1f} {pipeline_rate:>11.1f} "
                f"{pipeline_rate / encoder_rate:>6.2f} {r['parse_seconds']:>8.1f} {r['embed_seconds']:>8.1f} "
                f"{r['index_seconds']:>8.2f} {r['rss_after_model_load'] / 2**20:>9.0f} {r['peak_rss'] / 2**20:>8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
