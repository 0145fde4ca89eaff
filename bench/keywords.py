"""Keyword (BM25, tantivy) search latency at 10k, 100k and 1M passages.

Usage: python bench/keywords.py [--sizes 10000,100000,1000000] [--queries 200]
Passages are the SQuAD and SciFact texts, repeated (as distinct ids) up to each size; queries are
real SQuAD questions. Prints the time to build each index and p50/p95 per search of 50 results.
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

from ingestion.keyword_index import KeywordIndex  # noqa: E402

SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    squad = json.loads((SHARED / "squad" / "dev-v1.1.json").read_text())
    texts = [p["context"] for a in squad["data"] for p in a["paragraphs"]]
    texts += [json.loads(line)["text"] for line in (SHARED / "beir-scifact" / "corpus.reconstructed.jsonl").open()]
    questions = [qa["question"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    questions = questions[:: len(questions) // args.queries][: args.queries]
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            index = KeywordIndex(Path(folder))
            started = time.perf_counter()
            index.rebuild((i, texts[i % len(texts)]) for i in range(size))
            build = time.perf_counter() - started
            index.search("warm up", 50)
            timings = []
            for question in questions:
                started = time.perf_counter()
                index.search(question, 50)
                timings.append(time.perf_counter() - started)
        p50, p95 = (float(np.percentile(timings, q)) * 1000 for q in (50, 95))
        print(f"{size:>9,} passages (built in {build:.1f} s): search p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
