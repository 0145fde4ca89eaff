"""Celery entry points: ingest, re-embed, rebuild and drop old vectors by id, and the sweep for lost work.
They call the modules that do the work; what they send again, they send through dispatch."""

import logging
import threading
import time

from celery import shared_task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, worker_process_init, worker_ready
from django.conf import settings
from django.db import connection

from config import logs

from . import corpus_index, dispatch, encoders, pipeline, priority, recovery, reembedding
from .models import Corpus

log = logging.getLogger(__name__)


# The pipeline keeps its own time limit between steps; Celery's hard limit is the backstop.
@shared_task(bind=True, acks_late=True, time_limit=settings.INGEST_TIME_LIMIT + 120)
def ingest(self, document_id: int) -> None:
    with logs.bound_document(document_id):
        pipeline.ingest_document(document_id, task_id=self.request.id or "")


@task_failure.connect
def recover_document(sender=None, task_id=None, args=None, exception=None, **kwargs) -> None:
    # Fires in the worker's main process when the child running the task died or hit the
    # hard time limit: the task itself never got to record what happened.
    if getattr(sender, "name", None) == ingest.name and args and task_id:
        requeue_after_worker_loss(args[0], task_id=task_id, timed_out=isinstance(exception, TimeLimitExceeded))


def requeue_after_worker_loss(document_id: int, *, task_id: str, timed_out: bool) -> None:
    if recovery.claim_after_worker_loss(document_id, task_id=task_id, timed_out=timed_out):
        dispatch.ingest(document_id)


@shared_task
def rebuild_index(corpus_id: int) -> None:
    corpus = Corpus.objects.filter(pk=corpus_id).first()
    if corpus:
        corpus_index.rebuild_corpus_index(corpus)


@shared_task(acks_late=True)
def reembed(reembedding_id: int) -> None:
    corpus_id = reembedding.run_reembedding(reembedding_id)
    if corpus_id is not None:
        # Searches that read the corpus just before the swap may still be reading the old index and vectors:
        # they go a little later (with any older ones left behind).
        dispatch.drop_old_vectors(corpus_id, after=settings.REEMBED_KEEP_OLD_SECONDS)


@shared_task
def drop_old_vectors(corpus_id: int) -> None:
    reembedding.drop_old_vectors(corpus_id)


@worker_process_init.connect
def load_embedding_model(**kwargs) -> None:
    # In each pool process, never in the parent: children forked from a parent
    # that holds torch's threads hang (see shared FACTS.md).
    priority.lower_this_thread(settings.WORKER_NICENESS)
    try:
        encoders.load_default_encoder()
    except Exception:
        log.exception("could not load the embedding model; documents will fail until it loads")


@worker_ready.connect
def start_sweeping(**kwargs) -> None:
    threading.Thread(target=sweep_forever, name="requeue-lost-documents", daemon=True).start()


def sweep_lost_documents() -> list[int]:
    """Sends again the documents whose worker died and, if the queue is empty, those whose message was lost."""
    sent = [document_id for document_id in recovery.claim_lost_documents() if dispatch.ingest(document_id)]
    if sent:
        log.info("sent %s lost document(s) to the queue again: %s", len(sent), sent)
    return sent


def sweep_forever() -> None:
    """Every so often, sends again the documents a dead worker or a lost message left behind."""
    while True:
        try:
            sweep_lost_documents()
        except Exception:
            log.exception("sweep for lost documents failed")
        finally:
            # Hold no connection between sweeps, nor when the pool forks a new child.
            connection.close()
        time.sleep(settings.INGEST_SWEEP_INTERVAL)
