"""Sending work to the workers: every Celery task the app sends leaves from here.

Tasks are sent by their registered names, so that nothing here imports `tasks` (which imports the
pipeline, which sends). Each sender returns False when the broker did not answer, having logged why;
what that means for the user is the caller's to say, with QUEUE_DOWN where nothing better fits.
"""

import logging

from django.core.cache import cache

from config.celery import app

log = logging.getLogger(__name__)

INGEST = "ingestion.tasks.ingest"
REBUILD = "ingestion.tasks.rebuild_index"
REEMBED = "ingestion.tasks.reembed"
DROP_OLD_VECTORS = "ingestion.tasks.drop_old_vectors"
SUMMARIZE = "qa.tasks.summarize"
TASKS = (INGEST, REBUILD, REEMBED, DROP_OLD_VECTORS, SUMMARIZE)

QUEUE_DOWN = "The task queue did not answer; try again in a moment."
REBUILD_EVERY = 60  # seconds: at most one rebuild request per corpus and web process in this time


def send(name: str, *args: int, countdown: float | None = None) -> bool:
    try:
        app.send_task(name, args=args, countdown=countdown)
    except Exception:
        log.exception("could not send %s%s: the broker did not answer", name, args)
        return False
    return True


def ingest(document_id: int) -> bool:
    """Queues a document; if the broker is down, the row stays queued and a worker's sweep sends it later."""
    return send(INGEST, document_id)


def rebuild(corpus_id: int) -> bool:
    """Asks a worker to rebuild a corpus' indexes from the database. Requests for the same corpus within
    REBUILD_EVERY seconds are taken as already sent: a broken index is seen by every search until then."""
    if not cache.add(f"rebuild-requested:{corpus_id}", True, timeout=REBUILD_EVERY):
        return True
    if send(REBUILD, corpus_id):
        return True
    cache.delete(f"rebuild-requested:{corpus_id}")  # so that the next request tries again
    return False


def reembed(reembedding_id: int) -> bool:
    return send(REEMBED, reembedding_id)


def summarize(summary_id: int) -> bool:
    return send(SUMMARIZE, summary_id)


def drop_old_vectors(corpus_id: int, *, after: float) -> bool:
    return send(DROP_OLD_VECTORS, corpus_id, countdown=after)
