"""Celery entry points of the question-answering app: making a document's summary."""

from celery import shared_task

from . import summarizing


@shared_task(name="qa.tasks.summarize")
def summarize(summary_id: int) -> None:
    summarizing.make_summary(summary_id)
