"""The app's own time before the first streamed token, with a zero-latency fake TGI server.

Usage: DATA_DIR=... python bench/first_token.py --corpus SLUG [--questions 100]
Runs the real asking service (retrieval, prompt packing with the server's /tokenize, the answer
row and its sources, the streaming request) against testkit/fake_llm.py answering at once, and prints
p50/p95 of the time from the call to the first token, split into retrieval and the rest.
Questions are SQuAD dev questions; use a corpus ingested with `manage.py evaluate --ingest`.
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

from testkit.fake_llm import FakeLLM  # noqa: E402

SQUAD = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval" / "squad" / "dev-v1.1.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    squad = json.loads(SQUAD.read_text())
    questions = [qa["question"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]]
    questions = questions[:: max(1, len(questions) // args.questions)][: args.questions]

    with FakeLLM(answer="It is in the first passage [1].") as llm:
        os.environ |= {"LLM_URL": llm.url, "LLM_BACKEND": "tgi", "DJANGO_SETTINGS_MODULE": "config.settings"}
        import django

        django.setup()
        from ingestion.models import Corpus
        from qa.services import answer_question

        corpus = Corpus.objects.get(slug=args.corpus)
        list(answer_question("warm up", [corpus]))  # loads the model and the indexes once
        first_token, retrieval = [], []
        for question in questions:
            started = time.perf_counter()
            answer_id = None
            for event in answer_question(question, [corpus]):
                answer_id = event.data.get("answer_id", answer_id)
                if event.kind == "token":
                    first_token.append(time.perf_counter() - started)
                    break
            from qa.models import Answer

            retrieval.append(Answer.objects.get(pk=answer_id).retrieval_ms / 1000)
    ms = lambda values, q: float(np.percentile(values, q)) * 1000  # noqa: E731
    rest = [f - r for f, r in zip(first_token, retrieval, strict=True)]
    print(f"{len(first_token)} questions over {corpus.slug!r}")
    print(f"first token: p50 {ms(first_token, 50):.1f} ms, p95 {ms(first_token, 95):.1f} ms")
    print(f"  retrieval: p50 {ms(retrieval, 50):.1f} ms, p95 {ms(retrieval, 95):.1f} ms")
    print(f"  the rest (rows, /tokenize, request, first event): p50 {ms(rest, 50):.1f} ms, p95 {ms(rest, 95):.1f} ms")


if __name__ == "__main__":
    main()
