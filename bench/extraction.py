"""Extracted answers alone, without a database: for SQuAD dev questions, the five paragraphs closest to the
question (dense search over all 2,067), then the answer the extractor picks from them.

Usage: python bench/extraction.py [--every 10] [--file ../shared/eval/squad/dev-v1.1.json]
Prints how often the answer holds a gold answer, how often the gold paragraph is among the five, how
often some candidate sentence holds one (what any choice of sentence could reach), and the time per answer.
A quick way to compare changes to qa/extractive.py; `manage.py evaluate` measures it through the app's
own retrieval.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=10, help="take every Nth question (1: all 10,570)")
    parser.add_argument("--file", type=Path, default=SHARED / "squad" / "dev-v1.1.json")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from ingestion import encoders
    from ingestion.embeddings import CachedEncoder
    from qa import evaluation, extractive

    encoder = encoders.encoder_for("sentence-transformers/all-MiniLM-L6-v2")
    embed = CachedEncoder(encoder, size=300_000).encode
    paragraphs, questions = [], []
    for article in json.loads(args.file.read_text())["data"]:
        for paragraph in article["paragraphs"]:
            paragraphs.append(paragraph["context"])
            questions += [
                (qa["question"], [a["text"] for a in qa["answers"]], len(paragraphs) - 1) for qa in paragraph["qas"]
            ]
    questions = questions[:: args.every]
    paragraph_vectors = encoder.encode(paragraphs)
    question_vectors = encoder.encode([text for text, _, _ in questions])
    holds = gold_found = reachable = 0
    seconds = 0.0
    for (text, answers, gold), vector in zip(questions, question_vectors, strict=True):
        top = np.argsort(-(paragraph_vectors @ vector))[:5]
        passages = [(rank + 1, paragraphs[index]) for rank, index in enumerate(top)]
        started = time.perf_counter()
        answer, _ = extractive.extract_answer(text, passages, embed)
        seconds += time.perf_counter() - started
        holds += evaluation.contains_answer(answer, answers)
        gold_found += gold in top
        reachable += any(evaluation.contains_answer(c.text, answers) for c in extractive.candidates(passages))
    n = len(questions)
    print(f"{n} questions, every {args.every}th of {args.file.name}")
    print(f"  the answer holds a gold answer:        {holds / n:.3f}")
    print(f"  some candidate sentence holds one:     {reachable / n:.3f}")
    print(f"  the gold paragraph is among the five:  {gold_found / n:.3f}")
    print(f"  time per answer (sentences embedded, cached): {1000 * seconds / n:.1f} ms")


if __name__ == "__main__":
    main()
