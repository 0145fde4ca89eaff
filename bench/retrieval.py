"""Retrieval latency at 10k, 100k and 1M passages: embed the question, search, fetch the chunks.

Usage: python bench/retrieval.py [--sizes 10000,100000,1000000] [--queries 200]
Vectors: the real embeddings of SQuAD and SciFact passages, and beyond those, synthetic passages made
by adding noise to real ones (so neighbourhoods look like real text, which random vectors do not).
Queries: real SQuAD questions, embedded per query as the app does. Each size is stored through our
IndexStore with the default switch from exact search to IVF (INDEX_ANN_THRESHOLD, INDEX_IVF_NPROBE),
and IVF results are compared with exact search (recall@10). Chunk fetching is measured on a real
corpus in a throwaway SQLite database, as the app does it (one query by primary key).
Needs ../shared/eval (or SHARED_DIR).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion import embeddings  # noqa: E402
from ingestion.vector_index import IndexStore, new_index  # noqa: E402

SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval"
NOISE = 0.35  # per-dimension noise relative to a unit vector's typical component


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def real_texts() -> tuple[list[str], list[str]]:
    squad = json.loads((SHARED / "squad" / "dev-v1.1.json").read_text())
    paragraphs = [p["context"] for a in squad["data"] for p in a["paragraphs"]]
    questions = [qa["question"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    scifact = [json.loads(line)["text"] for line in (SHARED / "beir-scifact" / "corpus.reconstructed.jsonl").open()]
    return paragraphs + scifact, questions


def synthetic(base: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picks = base[rng.integers(0, len(base), count)]
    scale = NOISE / np.sqrt(base.shape[1])
    vectors = picks + rng.standard_normal(picks.shape, dtype=np.float32) * scale
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def build_vectors(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if size <= len(base):
        return base[:size]
    parts = [base]
    remaining = size - len(base)
    while remaining:
        step = min(remaining, 200_000)
        parts.append(synthetic(base, step, rng))
        remaining -= step
    return np.vstack(parts)


def fetch_timings(texts: list[str], vectors: np.ndarray, queries: int, rng: np.random.Generator) -> list[float]:
    """Seconds to fetch 50 candidate chunks by primary key, as qa.retrieval does, from a real table."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-fetch-")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ingestion.models import Chunk, Corpus, Document

    corpus = Corpus.objects.create(name="bench", slug="bench")
    document = Document.objects.create(
        corpus=corpus, original_name="bench.txt", file="x", sha256="0", file_type="text", size=0, status="ready"
    )
    Chunk.objects.bulk_create(
        Chunk(document=document, ordinal=i, text=t, char_start=0, char_end=len(t), token_count=1, vector=v.tobytes())
        for i, (t, v) in enumerate(zip(texts, vectors, strict=False))
    )
    ids = list(Chunk.objects.values_list("pk", flat=True))
    timings = []
    for _ in range(queries):
        wanted = rng.choice(ids, 50, replace=False).tolist()
        started = time.perf_counter()
        chunks = (
            Chunk.objects.filter(pk__in=wanted, document__corpus__in=[corpus], document__status="ready")
            .select_related("document")
            .in_bulk()
        )
        for chunk in chunks.values():
            np.frombuffer(bytes(chunk.vector), dtype=np.float32)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ann-threshold", type=int, default=50_000)
    parser.add_argument("--nprobe", type=int, default=32)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    encoder = embeddings.load_encoder(embeddings.BUNDLED_MODEL)
    texts, questions = real_texts()
    print(f"embedding {len(texts)} real passages...", flush=True)
    base = encoder.encode(texts)
    questions = [questions[int(i)] for i in rng.choice(len(questions), args.queries, replace=False)]

    embed_times = []
    query_vectors = []
    for question in questions:
        started = time.perf_counter()
        query_vectors.append(encoder.encode([question])[0])
        embed_times.append(time.perf_counter() - started)
    query_vectors = np.vstack(query_vectors)
    fetch_times = fetch_timings(texts, base, args.queries, rng)
    print(f"embed question: p50 {percentile_ms(embed_times, 50):.1f} ms, p95 {percentile_ms(embed_times, 95):.1f} ms")
    fetch_p50, fetch_p95 = percentile_ms(fetch_times, 50), percentile_ms(fetch_times, 95)
    print(f"fetch 50 chunks (SQLite): p50 {fetch_p50:.1f} ms, p95 {fetch_p95:.1f} ms")

    for size in (int(s) for s in args.sizes.split(",")):
        vectors = build_vectors(base, size, rng)
        ids = np.arange(1, size + 1, dtype=np.int64)
        with tempfile.TemporaryDirectory() as folder:
            store = IndexStore(Path(folder), ann_threshold=args.ann_threshold, nprobe=args.nprobe)
            started = time.perf_counter()
            store.add(ids, vectors, model="bench")
            build_seconds = time.perf_counter() - started
            kind = store.meta()["kind"]
            store.search(query_vectors[:1], 10)  # load it
            search_times, found = [], []
            for vector in query_vectors:
                started = time.perf_counter()
                found.append({h.id for h in store.search(vector[None, :], 50)[0][:10]})
                search_times.append(time.perf_counter() - started)
        recall = 1.0
        if kind != "flat":
            exact = new_index(vectors.shape[1])
            exact.add_with_ids(vectors, ids)
            _, truth = exact.search(query_vectors, 10)
            recall = float(np.mean([len(f & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]))
        total = [e + s + f for e, s, f in zip(embed_times, search_times, fetch_times, strict=True)]
        print(
            f"{size:>9,} passages ({kind}, written in {build_seconds:.1f} s): search p50 "
            f"{percentile_ms(search_times, 50):.2f} ms p95 {percentile_ms(search_times, 95):.2f} ms; "
            f"embed+search+fetch p50 {percentile_ms(total, 50):.1f} ms p95 {percentile_ms(total, 95):.1f} ms; "
            f"recall@10 vs exact {recall:.3f}",
            flush=True,
        )
        del vectors


if __name__ == "__main__":
    main()
