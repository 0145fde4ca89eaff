"""manage.py evaluate: measures retrieval, extracted answers and (with --generate) generated ones on a question
file."""

import io
import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion import services as ingestion_services
from ingestion.models import Corpus, Document
from ingestion.tasks import ingest
from qa import backends, evaluation, extractive, llm, prompting
from qa.answering import make_blocks, sentence_embedder
from qa.retrieval import retrieve

PACKING_DEPTH = 50  # passages offered to the prompt packer for recall within a budget


class Command(BaseCommand):
    help = (
        "Measures retrieval on a question file (SQuAD v1.1 JSON, HotpotQA JSONL, or JSONL of "
        "question/answers/doc/page): recall@1/5/10, MRR, recall within a prompt budget and, for extracted "
        "answers, how often they hold the answer; "
        "with --generate, the configured LLM's answers too (how often they hold the answer, and token F1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--corpus", required=True, help="slug of the corpus to search")
        parser.add_argument("--questions", required=True, type=Path, help="SQuAD JSON or JSONL file")
        parser.add_argument("--k", type=int, default=10, help="passages retrieved per question for recall@k")
        parser.add_argument("--budget", type=int, default=4000, help="prompt budget in tokens (default 4,000)")
        parser.add_argument("--limit", type=int, default=0, help="evaluate this many questions, spread over the file")
        parser.add_argument("--ingest", action="store_true", help="first ingest the file's paragraphs")
        parser.add_argument("--no-keywords", action="store_true", help="dense retrieval only, no BM25 fusion")
        parser.add_argument("--no-extractive", action="store_true", help="skip scoring extracted answers")
        parser.add_argument("--generate", action="store_true", help="also generate answers with the configured LLM")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        path = Path(options["questions"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        question_set = evaluation.load_questions(path)
        corpus = Corpus.objects.filter(slug=options["corpus"]).first()
        if options["ingest"]:
            corpus = corpus or ingestion_services.create_corpus(name=options["corpus"], slug=options["corpus"])
            self.ingest(corpus, question_set.paragraphs)
        if corpus is None:
            raise CommandError(f"There is no corpus {options['corpus']!r}; add --ingest to make it from the file.")
        questions = list(evaluation.sample(question_set.questions, options["limit"]))
        if not questions:
            raise CommandError("The file has no answerable questions.")
        if options["generate"] and backends.backend() is None:
            raise CommandError("--generate needs an LLM: set LLM_URL, or LLM_BACKEND=local with its server running.")
        started = time.perf_counter()
        scores = self.evaluate(corpus, questions, options)
        summary = scores.summary() | {
            "keywords": not options["no_keywords"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            for key, value in summary.items():
                self.stdout.write(f"{key:>28}: {value}")

    def evaluate(self, corpus: Corpus, questions: list[evaluation.Question], options: dict) -> evaluation.Scores:
        scores = evaluation.Scores(budget=options["budget"])
        embed = sentence_embedder([corpus])
        depth = max(options["k"], PACKING_DEPTH)
        for question in questions:
            found = retrieve(question.text, [corpus], k=depth, use_keywords=not options["no_keywords"])
            ranked = [
                evaluation.Retrieved(doc=p.chunk.document.original_name, page=p.chunk.page, text=p.chunk.text)
                for p in found.passages
            ]
            rank = evaluation.first_hit_rank(question, ranked[: options["k"]])
            blocks = make_blocks(found.passages, settings.SITE_URL)
            packed = prompting.pack(blocks, question.text, budget=options["budget"])
            in_budget = evaluation.first_hit_rank(question, ranked[: len(packed.blocks)]) is not None
            extracted = None
            if not options["no_extractive"]:
                top = blocks[: settings.RETRIEVAL_TOP_K]
                text, _ = extractive.extract_answer(question.text, [(b.source, b.text) for b in top], embed)
                extracted = evaluation.contains_answer(text, question.answers)
            scores.add(rank, in_budget=in_budget, extractive=extracted)
            if options["generate"]:
                scores.add_generated(generated_answer(blocks, question.text), question.answers)
        return scores

    def ingest(self, corpus: Corpus, paragraphs: list[evaluation.Paragraph]) -> None:
        """Ingests the paragraphs not yet in the corpus, here in this process (no worker needed)."""
        present = set(corpus.documents.values_list("original_name", flat=True))
        todo = [p for p in paragraphs if p.name not in present]
        self.stderr.write(f"Ingesting {len(todo)} of {len(paragraphs)} paragraphs into {corpus.slug}...")
        for number, paragraph in enumerate(todo, start=1):
            result = ingestion_services.accept_upload(
                file=io.BytesIO(paragraph.text.encode()), name=paragraph.name, corpus=corpus, send=False
            )
            Document.objects.filter(pk=result.document.pk).update(title=paragraph.title)
            ingest(result.document.pk)
            if number % 200 == 0:
                self.stderr.write(f"  {number} done")
        failed = corpus.documents.filter(status=Document.Status.FAILED).count()
        if failed:
            self.stderr.write(f"{failed} paragraphs failed to ingest.")


def generated_answer(blocks: list[prompting.Block], question: str) -> str | None:
    """The configured LLM's answer from the passages that fit its budget, as the app would ask it; None when
    the server failed."""
    chosen = backends.backend()
    try:
        prompt = prompting.pack(blocks, question, budget=chosen.prompt_budget(), count_tokens=chosen.count_tokens)
        return "".join(piece.text for piece in chosen.stream(prompt.system, prompt.user))
    except llm.LLMError:
        return None
