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

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import indexing
from .embeddings import Encoder, EncoderUnavailable
from .models import Chunk, Corpus, Document, Reembedding
from .pipeline import stale_before

log = logging.getLogger(__name__)

Status = Reembedding.Status
BATCH = 256
NO_MODEL = "The model {model!r} could not be loaded, so nothing was changed: {reason}"
FAILED = "The re-embedding stopped unexpectedly, so nothing was changed. Try again; the old vectors are still used."
WENT_AWAY = "The worker doing this stopped reporting, so it was given up; nothing was changed."
CANCELLED = "The corpus changed (it was deleted, or another re-embedding took over)."


class ReembeddingError(Exception):
    """A re-embedding that cannot be started; the message is for the user."""


class Stopped(Exception):
    """The re-embedding's row is gone or no longer running."""


def start_reembedding(corpus: Corpus, model: str, *, requested_by=None) -> Reembedding:
    """Queues a re-embedding of the corpus with `model` (a sentence-transformers name or path)."""
    model = model.strip()
    if not model:
        raise ReembeddingError("Name the embedding model to move to.")
    # One whose worker went away without a word would otherwise block every later one.
    cutoff = stale_before()
    corpus.reembeddings.filter(status__in=Reembedding.ACTIVE_STATUSES).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff)
    ).update(status=Status.FAILED, error=WENT_AWAY, finished_at=timezone.now())
    try:
        with transaction.atomic():
            reembedding = Reembedding.objects.create(
                corpus=corpus, from_model=corpus.embedding_model, to_model=model, requested_by=requested_by
            )
            transaction.on_commit(lambda: enqueue(reembedding.pk))
    except IntegrityError as exc:
        raise ReembeddingError(f"{corpus} is already being re-embedded; wait for it to finish.") from exc
    return reembedding


def enqueue(reembedding_id: int) -> None:
    from .tasks import reembed

    try:
        reembed.delay(reembedding_id)
    except Exception:
        log.exception("could not queue re-embedding %s", reembedding_id)
        fail(reembedding_id, "The task queue did not answer, so the re-embedding did not start. Try again.")


def run_reembedding(reembedding_id: int) -> None:
    """Does one queued re-embedding to the end; safe to call twice for the same id."""
    now = timezone.now()
    claimed = Reembedding.objects.filter(pk=reembedding_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return  # already done, or another worker has it
    reembedding = Reembedding.objects.select_related("corpus").get(pk=reembedding_id)
    corpus = reembedding.corpus
    try:
        encoder = indexing.encoder_for(reembedding.to_model)
    except EncoderUnavailable as exc:
        fail(reembedding_id, NO_MODEL.format(model=reembedding.to_model, reason=exc.__cause__ or exc))
        return
    try:
        # Leftovers of an earlier attempt that failed part way might come from another model.
        Chunk.objects.filter(document__corpus=corpus).update(next_vector=None)
        Reembedding.objects.filter(pk=reembedding_id).update(chunks_total=pending(corpus).count())
        embed_pending(corpus, encoder, reembedding_id)
        swap(corpus, encoder, reembedding_id)
    except Stopped:
        log.info("re-embedding %s stopped: %s", reembedding_id, CANCELLED)
        Chunk.objects.filter(document__corpus_id=corpus.pk).update(next_vector=None)
    except Exception:
        log.exception("re-embedding %s failed", reembedding_id)
        fail(reembedding_id, FAILED)
        Chunk.objects.filter(document__corpus_id=corpus.pk).update(next_vector=None)


def pending(corpus: Corpus):
    return indexing.ready_chunks(corpus.pk).filter(next_vector__isnull=True)


def embed_pending(corpus: Corpus, encoder: Encoder, reembedding_id: int) -> None:
    """Embeds, a batch at a time, the passages of ready documents that have no new vector yet."""
    while True:
        chunks = list(pending(corpus).order_by("pk").only("pk", "text")[:BATCH])
        if not chunks:
            return
        vectors = encoder.encode([chunk.text for chunk in chunks])
        for chunk, vector in zip(chunks, vectors, strict=True):
            chunk.next_vector = indexing.vector_to_bytes(vector)
        Chunk.objects.bulk_update(chunks, ["next_vector"])
        report(reembedding_id, chunks_done=F("chunks_done") + len(chunks))


def report(reembedding_id: int, **fields) -> None:
    fields["heartbeat_at"] = timezone.now()
    if not Reembedding.objects.filter(pk=reembedding_id, status=Status.RUNNING).update(**fields):
        raise Stopped


def swap(corpus: Corpus, encoder: Encoder, reembedding_id: int) -> None:
    with indexing.locked_current_store(corpus.pk) as (corpus, _):
        # Passages that became ready while the rest were embedded; none can be added now.
        report(reembedding_id, chunks_total=F("chunks_done") + pending(corpus).count())
        embed_pending(corpus, encoder, reembedding_id)
        generation = corpus.vector_generation + 1
        following = indexing.store_for(corpus, generation)
        following.rebuild(indexing.vector_batches(indexing.ready_chunks(corpus.pk), "next_vector"), model=encoder.name)
        with transaction.atomic():
            report(reembedding_id, status=Status.DONE, finished_at=timezone.now())
            # The old vectors stay in next_vector, for searches that read the corpus before this commit.
            Chunk.objects.filter(document__corpus=corpus, next_vector__isnull=False).update(
                vector=F("next_vector"), next_vector=F("vector")
            )
            Document.objects.filter(corpus=corpus, status=Document.Status.READY).update(embedding_model=encoder.name)
            Corpus.objects.filter(pk=corpus.pk).update(embedding_model=encoder.name, vector_generation=generation)
    # Searches that read the corpus just before the swap may still be reading the old index and vectors:
    # they go a little later (with any older ones left behind).
    from .tasks import drop_old_vectors

    try:
        drop_old_vectors.apply_async((corpus.pk,), countdown=settings.REEMBED_KEEP_OLD_SECONDS)
    except Exception:
        log.warning("could not queue the removal of corpus %s's old vectors", corpus.pk, exc_info=True)


def drop_old_vectors(corpus_id: int) -> None:
    """Removes the vectors and indexes of a corpus' earlier model."""
    if Reembedding.objects.filter(corpus_id=corpus_id, status__in=Reembedding.ACTIVE_STATUSES).exists():
        return  # next_vector now holds a newer re-embedding's work, which drops these when it is done
    Chunk.objects.filter(document__corpus_id=corpus_id).update(next_vector=None)
    current = indexing.current_generation(corpus_id)
    for generation in range(current):
        store = indexing.store_for(corpus_id, generation)
        if store.exists():
            store.delete()


def fail(reembedding_id: int, message: str) -> None:
    log.info("re-embedding %s failed: %s", reembedding_id, message)
    Reembedding.objects.filter(pk=reembedding_id, status__in=Reembedding.ACTIVE_STATUSES).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )
