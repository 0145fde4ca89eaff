"""manage.py doctor: checks each corpus' indexes against the database and rebuilds those that differ."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion import corpus_index
from ingestion.management.selection import chosen_corpora


class Command(BaseCommand):
    help = (
        "Checks every corpus' indexes against the database (the same passages, each once, from the same model) "
        "and rebuilds those that differ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--corpus", help="slug of one corpus (default: every corpus)")
        parser.add_argument("--check", action="store_true", help="only report; repair nothing")

    def handle(self, *args, **options) -> None:
        corpora = chosen_corpora(options["corpus"])
        unrepaired = []
        for corpus in corpora:
            problems = corpus_index.diagnose_corpus(corpus)
            if not problems:
                self.stdout.write(f"{corpus.slug}: ok")
                continue
            for problem in problems:
                self.stdout.write(f"{corpus.slug}: {problem}")
            if options["check"]:
                unrepaired.append(corpus.slug)
                continue
            count = corpus_index.rebuild_corpus_index(corpus)
            still = corpus_index.diagnose_corpus(corpus)
            if still:
                unrepaired.append(corpus.slug)
                self.stdout.write(f"{corpus.slug}: still wrong after the rebuild: {'; '.join(still)}")
            else:
                self.stdout.write(f"{corpus.slug}: repaired, rebuilt from the database with {count} passages")
        if unrepaired:
            raise CommandError(f"Indexes that do not match the database: {', '.join(unrepaired)}")
