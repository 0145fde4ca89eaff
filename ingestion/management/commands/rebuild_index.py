from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion import indexing
from ingestion.models import Corpus


class Command(BaseCommand):
    help = "Rebuilds corpus search indexes from the vectors stored in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--corpus", help="slug of one corpus (default: every corpus)")

    def handle(self, *args, **options) -> None:
        corpora = Corpus.objects.all()
        if options["corpus"]:
            corpora = corpora.filter(slug=options["corpus"])
            if not corpora:
                raise CommandError(f"There is no corpus {options['corpus']!r}.")
        for corpus in corpora:
            count = indexing.rebuild_corpus_index(corpus)
            self.stdout.write(f"{corpus.slug}: {count} vectors")
