"""The first question after a start, with and without the web process' warm-up (qa/warmup.py): each in a
fresh process, as after a restart, with extracted answers (no LLM server to wait for).

Usage: DATA_DIR=... python bench/first_question.py --corpus SLUG
Prints the seconds to the whole answer of the first question, cold, then after warming up (and how long
the warm-up itself took, which the server spends before anyone asks).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTION = "Which NFL team represented the AFC at Super Bowl 50?"


def one_start(corpus: str, warm: bool) -> dict:
    """Runs in a fresh process: optionally warm up, then ask once."""
    os.environ |= {"DJANGO_SETTINGS_MODULE": "config.settings", "LLM_BACKEND": "extractive", "LLM_URL": ""}
    import django

    django.setup()
    from ingestion.models import Corpus
    from qa import warmup
    from qa.services import answer_question

    warmed = warmup.warm_up() if warm else 0.0
    target = Corpus.objects.get(slug=corpus)
    started = time.perf_counter()
    list(answer_question(QUESTION, [target]))
    return {"warm_up": warmed, "first_question": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--child", choices=["cold", "warm"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_start(args.corpus, args.child == "warm")))
        return
    for mode in ("cold", "warm"):
        output = subprocess.run(
            [sys.executable, __file__, "--corpus", args.corpus, "--child", mode],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        result = json.loads(output.strip().splitlines()[-1])
        print(
            f"{mode}: first question {result['first_question']:.2f} s"
            + (f" (after a warm-up of {result['warm_up']:.1f} s at start)" if mode == "warm" else "")
        )


if __name__ == "__main__":
    main()
