"""The --corpus option the management commands share."""

from django.core.management.base import CommandError

from ingestion.models import Corpus


def chosen_corpora(slug: str | None):
    """The corpus named by --corpus, or every corpus when none is named."""
    if not slug:
        return Corpus.objects.all()
    corpora = Corpus.objects.filter(slug=slug)
    if not corpora:
        raise CommandError(f"There is no corpus {slug!r}.")
    return corpora
