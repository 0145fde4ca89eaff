"""Calibrates RETRIEVAL_MIN_SCORE: how similar are the passages that answer, and those that do not?

Usage: DATA_DIR=... python bench/calibrate_floor.py --corpus SLUG [--questions 500]
On a corpus made by `manage.py evaluate --ingest` from SQuAD dev, prints the cosine similarity of the
first passage that holds the answer (answerable questions), and of the best passage for questions the
corpus cannot answer (SciFact claims), and what share of each a floor keeps.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from ingestion.models import Corpus
    from qa import evaluation
    from qa.retrieval import retrieve

    corpus = Corpus.objects.get(slug=args.corpus)
    squad = evaluation.load_questions(SHARED / "squad" / "dev-v1.1.json").questions
    answerable = []
    for question in evaluation.sample(squad, args.questions):
        for passage in retrieve(question.text, [corpus], k=10, min_score=-1).passages:
            retrieved = evaluation.Retrieved(
                passage.chunk.document.original_name, passage.chunk.page, passage.chunk.text
            )
            if evaluation.is_hit(question, retrieved):
                answerable.append(passage.score)
                break
    claims = [json.loads(line)["text"] for line in (SHARED / "beir-scifact" / "queries.jsonl").open()]
    unanswerable = []
    for claim in evaluation.sample(claims, args.questions):
        passages = retrieve(claim, [corpus], k=1, min_score=-1).passages
        unanswerable.append(passages[0].score if passages else -1.0)
    answerable, unanswerable = np.array(answerable), np.array(unanswerable)
    print(
        f"answering passage (SQuAD, {len(answerable)} found): percentiles 1/5/50 "
        f"{np.percentile(answerable, [1, 5, 50]).round(3).tolist()}"
    )
    print(
        f"best passage for off-corpus claims (SciFact, {len(unanswerable)}): percentiles 50/95/99 "
        f"{np.percentile(unanswerable, [50, 95, 99]).round(3).tolist()}"
    )
    print("floor  answering passages kept  off-corpus questions given passages")
    for floor in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35):
        print(f"{floor:5.2f}  {np.mean(answerable >= floor):23.3f}  {np.mean(unanswerable >= floor):35.3f}")


if __name__ == "__main__":
    main()
