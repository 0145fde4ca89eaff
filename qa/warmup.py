"""What the first question needs, loaded as the web process starts (the embedding models, each corpus' indexes,
the sentence cache), in a thread of its own: the server answers at once, and the first question is not slow.

Started by the web servers only (runserver under `make run`, through config/wsgi.py; gunicorn's
post_worker_init), never by the Celery worker: torch loaded before the worker forks its pool would hang it."""

import logging
import threading
import time

from django.db import connection

from ingestion.models import Corpus, Document, default_embedding_model

from .answering import cached_encoder
from .retrieval import retrieve

log = logging.getLogger(__name__)

QUESTION = "What is this document about?"
CORPORA_WARMED = 50  # the most recently changed; the rest load on their first question


def warm_up() -> float:
    """Loads the models and searches each corpus with documents once; returns the seconds it took."""
    started = time.perf_counter()
    corpora = list(
        Corpus.objects.filter(documents__status=Document.Status.READY).distinct().order_by("-pk")[:CORPORA_WARMED]
    )
    for model in {default_embedding_model(), *(corpus.embedding_model for corpus in corpora)}:
        cached_encoder(model).encode([QUESTION])
    if corpora:
        retrieve(QUESTION, corpora, k=1)
    return time.perf_counter() - started


def run_logged() -> None:
    try:
        log.info("warmed up in %.1f s: the first question will not wait for models or indexes", warm_up())
    except Exception:
        log.exception("warming up failed; the first question loads what it needs itself")
    finally:
        connection.close()  # the thread's own


def start() -> threading.Thread:
    thread = threading.Thread(target=run_logged, name="warm-up", daemon=True)
    thread.start()
    return thread
