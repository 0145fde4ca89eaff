"""Document summaries: the map-reduce's time per page and per 1,000 words against the fake TGI server (the
app's own cost) and, when its server is given, a real model (SmolLM2 through llama.cpp); how long the
summaries come out against the words asked for; and for extracted summaries, the share of their sentences
that are prose.

Usage: DATA_DIR=... python bench/summaries.py [--docs DIR] [--pdf FILE] [--llm-url URL [--only NAME ...]]
The documents are ingested here (one corpus, in this process). A sentence counts as prose when it ends as a
sentence does, has six words or more, and holds no markup (#, |, ```, ===, ---) and no heading in capitals.
Every extracted summary is printed, to be read.
"""

import argparse
import os
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
MARKUP = re.compile(r"#|\||```|===|---")


def is_prose(sentence: str) -> bool:
    text = re.sub(r"\[\d+\]", "", sentence).strip()
    words = text.split()
    return (
        len(words) >= 6
        and text[-1:] in ".!?\"'”’)"
        and not MARKUP.search(text)
        and not (text.isupper() and len(words) < 12)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=Path, default=SHARED / "eval" / "docs")
    parser.add_argument("--pdf", type=Path, default=SHARED / "eval" / "pdfs" / "pdfjs_tracemonkey.pdf")
    parser.add_argument("--llm-url", default="", help="also summarize with this llama.cpp server (LLM_BACKEND=local)")
    parser.add_argument("--only", nargs="*", default=[], help="with --llm-url: these file names only")
    args = parser.parse_args()
    os.environ |= {"DJANGO_SETTINGS_MODULE": "config.settings", "LLM_BACKEND": "extractive", "LLM_URL": ""}
    import django

    django.setup()
    from django.conf import settings

    from ingestion import services as ingestion_services
    from ingestion.models import Corpus, Document
    from ingestion.tasks import ingest
    from qa import summarizing
    from qa.models import Summary
    from testkit.fake_llm import FakeLLM

    corpus = Corpus.objects.filter(slug="bench-summaries").first() or ingestion_services.create_corpus(
        name="bench-summaries", slug="bench-summaries"
    )
    paths = [*sorted(p for p in args.docs.iterdir() if p.suffix in (".md", ".rst", ".txt", ".html")), args.pdf]
    documents = []
    for path in paths:
        document = corpus.documents.filter(original_name=path.name).first()
        if document is None:
            with open(path, "rb") as f:
                result = ingestion_services.accept_upload(file=f, name=path.name, corpus=corpus, send=False)
            ingest(result.document.pk)
            document = Document.objects.get(pk=result.document.pk)
        documents.append(document)

    def summarize(document) -> Summary:
        Summary.objects.filter(document=document).delete()
        summary = summarizing.request_summary(document)
        summarizing.make_summary(summary.pk)
        return Summary.objects.get(pk=summary.pk)

    def words_of(document) -> int:
        return sum(len(text.split()) for text in document.chunks.values_list("text", flat=True))

    print("Extracted summaries (no LLM):")
    prose, sentences = 0, 0
    for document in documents:
        summary = summarize(document)
        found = list(summary.parts.values_list("text", flat=True))  # one quoted sentence each
        prose += sum(map(is_prose, found))
        sentences += len(found)
        print(f"\n## {document.original_name} ({summary.seconds:.1f} s)\n{summary.text}")
    print(f"\nprose: {prose} of {sentences} sentences ({prose / max(sentences, 1):.2%})")

    def run(label: str, chosen: list) -> None:
        rows = []
        for document in chosen:
            summary = summarize(document)
            pages, words = max(document.pages_total, 1), words_of(document)
            rows.append((document, summary, pages, words))
            print(f"{label:>6} {document.original_name[:42]:<42} {summary.status:<6} {summary.seconds:7.1f} s "
                  f"{pages:3} pages {words:6} words, {summary.parts.filter(level=0).count():3} sections, "
                  f"summary {summary_words(summary):4} words {summary.message[:60]}")  # fmt: skip
        ready = [r for r in rows if r[1].status == "ready"]
        if not ready:
            return
        per_page = sum(r[1].seconds for r in ready) / sum(r[2] for r in ready)
        per_thousand = sum(r[1].seconds for r in ready) / (sum(r[3] for r in ready) / 1000)
        lengths = [summary_words(r[1]) for r in ready]
        print(
            f"{label}: {per_page:.2f} s a page, {per_thousand:.2f} s per 1,000 words; summary words median "
            f"{statistics.median(lengths)} (asked {settings.SUMMARY_WORDS}), range {min(lengths)}-{max(lengths)}"
        )

    def summary_words(summary) -> int:
        return len(re.sub(r"\[\d+\]", " ", summary.text).split())

    with FakeLLM(answer="This section explains how the system works and what it is for. " * 8) as fake:
        settings.LLM_URL, settings.LLM_BACKEND = fake.url, "tgi"
        run("fake", documents)
    if args.llm_url:
        settings.LLM_URL, settings.LLM_BACKEND, settings.LLM_TIMEOUT = args.llm_url, "local", 300
        # What make run gives a local model: a 2,048-token prompt, within the server's 4,096 context.
        settings.LLM_MAX_INPUT_TOKENS, settings.LLM_MAX_NEW_TOKENS = 2048, 512
        chosen = [d for d in documents if not args.only or d.original_name in args.only]
        run("local", chosen)


if __name__ == "__main__":
    main()
