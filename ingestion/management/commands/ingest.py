"""manage.py ingest: uploads files or folders into a corpus from the command line."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion import services
from ingestion.models import Corpus, Document


class Command(BaseCommand):
    help = "Uploads files (or every file in folders) into a corpus and queues them for processing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")
        parser.add_argument("--corpus", required=True, help="slug of the corpus")
        parser.add_argument("--create", action="store_true", help="create the corpus if it does not exist")
        parser.add_argument("--wait", action="store_true", help="return when every document is ready or failed")
        parser.add_argument("--timeout", type=float, default=0, help="with --wait: give up after this many seconds")

    def handle(self, *args, **options) -> None:
        corpus = self.get_corpus(options["corpus"], create=options["create"])
        files = list(self.collect_files(options["paths"]))
        if not files:
            raise CommandError("No files found in the given paths.")
        document_ids = []
        for path in files:
            try:
                with open(path, "rb") as f:
                    result = services.accept_upload(file=f, name=path.name, corpus=corpus)
            except services.UploadError as exc:
                self.stderr.write(f"{path}: {exc}")
                continue
            document = result.document
            document_ids.append(document.pk)
            note = "already in the corpus" if result.is_duplicate else document.status
            self.stdout.write(f"{path}: {note} (document {document.pk})")
        if options["wait"]:
            self.wait(document_ids, timeout=options["timeout"])

    def get_corpus(self, slug: str, *, create: bool) -> Corpus:
        corpus = Corpus.objects.filter(slug=slug).first()
        if corpus:
            return corpus
        if not create:
            raise CommandError(f"There is no corpus {slug!r}. Add --create to make it.")
        return services.create_corpus(name=slug, slug=slug)

    def collect_files(self, paths: list[Path]):
        for path in paths:
            if path.is_dir():
                yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            elif path.is_file():
                yield path
            else:
                raise CommandError(f"{path} does not exist.")

    def wait(self, document_ids: list[int], *, timeout: float) -> None:
        deadline = time.monotonic() + timeout if timeout else None
        documents = Document.objects.filter(pk__in=document_ids)
        while documents.active().exists():
            if deadline and time.monotonic() > deadline:
                raise CommandError(f"Gave up waiting after {timeout:.0f} s; is a worker running?")
            time.sleep(1)
        failed = 0
        for document in documents.order_by("pk"):
            line = f"{document.original_name}: {document.status}"
            if document.error:
                line += f" ({document.error})"
                failed += 1
            elif document.warning:
                line += f" ({document.warning})"
            self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} of {len(document_ids)} documents failed.")
