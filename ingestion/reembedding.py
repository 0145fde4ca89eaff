"""Re-embedding a corpus with another embedding model, in a worker, while asking goes on.

Every passage of the corpus' ready documents is embedded with the new model into `Chunk.next_vector`.
Then, holding the lock of the index being searched (so no document is added to it meanwhile), the
passages that became ready in the meantime are embedded too, the next generation of the vector index is
built beside the current one, and one transaction moves the vectors over and points the corpus at the
new model and index. Searches read the corpus row once, so each uses one model and one index throughout.
A document still being embedded when the swap happens is embedded again with the new model before it
is added (see pipeline.add_to_index). The passages themselves are kept as they are.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import corpus_index, encoders
from .embeddings import Encoder, EncoderUnavailable
from .models import Chunk, Corpus, Document, Reembedding

log = logging.getLogger(__name__)

Status = Reembedding.Status
BATCH = 256
NO_MODEL = "The model {model!r} could not be loaded, so nothing was changed: {reason}"
FAILED = "The re-embedding stopped unexpectedly, so nothing was changed. Try again; the old vectors are still used."
WENT_AWAY = "The worker doing this stopped reporting, so it was given up; nothing was changed."
CANCELLED = "The corpus changed (it was deleted, or another re-embedding took over)."


class Stopped(Exception):
    """The re-embedding's row is gone or no longer running."""


def run_reembedding(reembedding_id: int) -> int | None:
    """Does one queued re-embedding to the end; returns the corpus' id if it moved to the new model (its old
    vectors are then to be dropped a little later). Safe to call twice for the same id."""
    now = timezone.now()
    claimed = Reembedding.objects.filter(pk=reembedding_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None  # already done, or another worker has it
    reembedding = Reembedding.objects.select_related("corpus").get(pk=reembedding_id)
    corpus = reembedding.corpus
    try:
        encoder = encoders.encoder_for(reembedding.to_model)
    except EncoderUnavailable as exc:
        fail(reembedding_id, NO_MODEL.format(model=reembedding.to_model, reason=exc.__cause__ or exc))
        return None
    try:
        # Leftovers of an earlier attempt that failed part way might come from another model.
        Chunk.objects.filter(document__corpus=corpus).update(next_vector=None)
        Reembedding.objects.filter(pk=reembedding_id).update(chunks_total=pending(corpus).count())
        embed_pending(corpus, encoder, reembedding_id)
        swap(corpus, encoder, reembedding_id)
        return corpus.pk
    except Stopped:
        log.info("re-embedding %s stopped: %s", reembedding_id, CANCELLED)
        Chunk.objects.filter(document__corpus_id=corpus.pk).update(next_vector=None)
    except Exception:
        log.exception("re-embedding %s failed", reembedding_id)
        fail(reembedding_id, FAILED)
        Chunk.objects.filter(document__corpus_id=corpus.pk).update(next_vector=None)
    return None


def pending(corpus: Corpus):
    return corpus_index.ready_chunks(corpus.pk).filter(next_vector__isnull=True)


def embed_pending(corpus: Corpus, encoder: Encoder, reembedding_id: int) -> None:
    """Embeds, a batch at a time, the passages of ready documents that have no new vector yet."""
    while True:
        chunks = list(pending(corpus).order_by("pk").only("pk", "section", "text")[:BATCH])
        if not chunks:
            return
        vectors = encoder.encode([chunk.indexed_text for chunk in chunks])
        for chunk, vector in zip(chunks, vectors, strict=True):
            chunk.next_vector = corpus_index.vector_to_bytes(vector)
        Chunk.objects.bulk_update(chunks, ["next_vector"])
        report(reembedding_id, chunks_done=F("chunks_done") + len(chunks))


def report(reembedding_id: int, **fields) -> None:
    fields["heartbeat_at"] = timezone.now()
    if not Reembedding.objects.filter(pk=reembedding_id, status=Status.RUNNING).update(**fields):
        raise Stopped


def swap(corpus: Corpus, encoder: Encoder, reembedding_id: int) -> None:
    with corpus_index.locked_current_store(corpus.pk) as (corpus, _):
        # Passages that became ready while the rest were embedded; none can be added now.
        report(reembedding_id, chunks_total=F("chunks_done") + pending(corpus).count())
        embed_pending(corpus, encoder, reembedding_id)
        generation = corpus.vector_generation + 1
        following = corpus_index.store_for(corpus, generation)
        following.rebuild(
            corpus_index.vector_batches(corpus_index.ready_chunks(corpus.pk), "next_vector"), model=encoder.name
        )
        with transaction.atomic():
            report(reembedding_id, status=Status.DONE, finished_at=timezone.now())
            # The old vectors stay in next_vector, for searches that read the corpus before this commit.
            Chunk.objects.filter(document__corpus=corpus, next_vector__isnull=False).update(
                vector=F("next_vector"), next_vector=F("vector")
            )
            Document.objects.filter(corpus=corpus).ready().update(embedding_model=encoder.name)
            Corpus.objects.filter(pk=corpus.pk).update(embedding_model=encoder.name, vector_generation=generation)


def drop_old_vectors(corpus_id: int) -> None:
    """Removes the vectors and indexes of a corpus' earlier model."""
    if Reembedding.objects.filter(corpus_id=corpus_id, status__in=Reembedding.ACTIVE_STATUSES).exists():
        return  # next_vector now holds a newer re-embedding's work, which drops these when it is done
    Chunk.objects.filter(document__corpus_id=corpus_id).update(next_vector=None)
    current = corpus_index.current_generation(corpus_id)
    for generation in range(current):
        store = corpus_index.store_for(corpus_id, generation)
        if store.exists():
            store.delete()


def fail(reembedding_id: int, message: str) -> None:
    log.info("re-embedding %s failed: %s", reembedding_id, message)
    Reembedding.objects.filter(pk=reembedding_id, status__in=Reembedding.ACTIVE_STATUSES).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )
