"""manage.py rebuild_index: rebuilds corpus indexes from the database, here and now."""

from django.core.management.base import BaseCommand, CommandParser

from ingestion import corpus_index
from ingestion.management.selection import chosen_corpora


class Command(BaseCommand):
    help = "Rebuilds corpus search indexes from the vectors stored in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--corpus", help="slug of one corpus (default: every corpus)")

    def handle(self, *args, **options) -> None:
        corpora = chosen_corpora(options["corpus"])
        for corpus in corpora:
            count = corpus_index.rebuild_corpus_index(corpus)
            self.stdout.write(f"{corpus.slug}: {count} vectors")
