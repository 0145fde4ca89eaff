"""Compares the torch and int8-ONNX embedding backends: speed, and retrieval quality on BEIR SciFact.

Usage: python bench/embedding_backends.py [--docs N]
Prints encoding throughput of each backend on the same texts, the SciFact test-set recall@10 and
nDCG@10 of each, how often their top result agrees, and the cosine between their vectors.
Needs ../shared/eval/beir-scifact (or SHARED_DIR).
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion import embeddings  # noqa: E402

SCIFACT = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval" / "beir-scifact"


def load_scifact(limit: int | None) -> tuple[list[str], list[str], list[str], dict[str, set[str]]]:
    qrels: dict[str, set[str]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        qrels.setdefault(query_id, set()).add(doc_id)
    docs = [json.loads(line) for line in (SCIFACT / "corpus.reconstructed.jsonl").read_text().splitlines()]
    if limit:
        # Keep every judged document, then fill up with others, so every test query stays answerable.
        judged = set().union(*qrels.values())
        docs = [d for d in docs if d["_id"] in judged] + [d for d in docs if d["_id"] not in judged]
        docs = docs[:limit]
    doc_ids = [d["_id"] for d in docs]
    doc_texts = [f"{d['title']}. {d['text']}" for d in docs]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (SCIFACT / "queries.jsonl").read_text().splitlines())}
    present = set(doc_ids)
    qrels = {q: rel & present for q, rel in qrels.items() if rel & present and q in queries}
    query_ids = sorted(qrels, key=int)
    return doc_ids, doc_texts, [queries[q] for q in query_ids], {q: qrels[q] for q in query_ids}


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    gain = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return gain / ideal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=0, help="use this many SciFact documents (default: all)")
    args = parser.parse_args()
    doc_ids, doc_texts, query_texts, qrels = load_scifact(args.docs or None)
    print(f"SciFact: {len(doc_texts)} documents, {len(query_texts)} test queries with judged answers")

    results = {}
    for backend in ("torch", "onnx"):
        encoder = embeddings.load_encoder(
            embeddings.BUNDLED_MODEL,
            backend=backend,
            device="cpu",
            cache_dir=Path(tempfile.gettempdir()) / "docqa-bench",
        )
        encoder.encode(doc_texts[:64])  # warm up
        started = time.perf_counter()
        doc_vectors = encoder.encode(doc_texts)
        seconds = time.perf_counter() - started
        query_vectors = encoder.encode(query_texts)
        ranked = np.argsort(-(query_vectors @ doc_vectors.T), axis=1)[:, :10]
        rankings = [[doc_ids[i] for i in row] for row in ranked]
        relevant = list(qrels.values())
        results[backend] = {
            "docs_per_second": len(doc_texts) / seconds,
            "recall@10": np.mean([len(set(r) & rel) / len(rel) for r, rel in zip(rankings, relevant, strict=True)]),
            "ndcg@10": np.mean([ndcg_at_10(r, rel) for r, rel in zip(rankings, relevant, strict=True)]),
            "rankings": rankings,
            "vectors": doc_vectors,
        }
        print(
            f"{backend:>5}: {results[backend]['docs_per_second']:6.1f} documents/s   "
            f"recall@10 {results[backend]['recall@10']:.3f}   nDCG@10 {results[backend]['ndcg@10']:.3f}"
        )
    torch_result, onnx_result = results["torch"], results["onnx"]
    same_top1 = np.mean([a[0] == b[0] for a, b in zip(torch_result["rankings"], onnx_result["rankings"], strict=True)])
    overlap10 = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(torch_result["rankings"], onnx_result["rankings"], strict=True)]
    )
    cosine = np.mean(np.sum(torch_result["vectors"] * onnx_result["vectors"], axis=1))
    print(f"speed-up of onnx over torch: {onnx_result['docs_per_second'] / torch_result['docs_per_second']:.2f}x")
    print(f"same top result: {same_top1:.1%}   top-10 overlap: {overlap10:.1%}   mean cosine: {cosine:.4f}")


if __name__ == "__main__":
    main()
