"""Worker side: finding the documents a dead worker or a lost message left behind, and claiming them to be
sent again. Nothing here sends: callers send the ids these functions return (tasks.py)."""

import logging
from datetime import timedelta

from amqp.exceptions import ChannelError
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.celery import app

from .models import Document
from .pipeline import mark_failed, stale_before, time_limit_message

log = logging.getLogger(__name__)

Status = Document.Status


def claim_lost_documents() -> list[int]:
    """The documents whose worker died and, if the queue is empty, those whose message was lost; each marked
    as sent now.

    A stalled document is claimed at most once per INGEST_STALE_AFTER, however many workers sweep.
    """
    now = timezone.now()
    lost = [
        Document.objects.filter(status__in=[Status.PARSING, Status.EMBEDDING], heartbeat_at__lt=stale_before(now))
        .filter(Q(queued_at=None) | Q(queued_at__lt=stale_before(now)))
    ]  # fmt: skip
    if broker_queue_is_empty():
        lost.append(
            Document.objects.filter(
                status=Status.QUEUED, queued_at__lt=now - timedelta(seconds=settings.INGEST_REQUEUE_AFTER)
            )
        )
    claimed = []
    for queryset in lost:
        for document_id in queryset.values_list("pk", flat=True):
            # Several workers sweep: the conditional update lets exactly one of them claim it.
            if queryset.filter(pk=document_id).update(queued_at=now):
                claimed.append(document_id)
    return claimed


def broker_queue_is_empty() -> bool:
    try:
        with app.connection_for_write() as connection:
            queue = app.conf.task_default_queue
            return connection.default_channel.queue_declare(queue, passive=True).message_count == 0
    except Exception as exc:
        if isinstance(exc, ChannelError) and str(exc.reply_code) == "404":
            return True  # Redis keeps no key for an empty queue
        log.warning("could not read the length of the task queue", exc_info=True)
        return False


def claim_after_worker_loss(document_id: int, *, task_id: str, timed_out: bool) -> bool:
    """For a task whose process died: fails the document on a hard time limit; otherwise puts it back in the
    queued state and returns True, for the caller to send it again.

    Only the attempt that task claimed is touched; if another worker has taken the document over since,
    its work goes on.
    """
    owned = Document.objects.filter(
        pk=document_id, status__in=[Status.PARSING, Status.EMBEDDING], claim_token__startswith=f"{task_id}:"
    )
    if timed_out:
        document = owned.first()
        if document:
            mark_failed(owned, document, time_limit_message())
        return False
    # The attempt counter in the claim stops a document that kills its worker every time.
    return bool(owned.update(status=Status.QUEUED, queued_at=timezone.now()))
