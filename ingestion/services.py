"""Documents in and out: upload, retry, delete, and putting lost work back in the queue."""

import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from . import filetypes, indexing
from .models import Corpus, Document, Membership
from .pipeline import mark_failed, stale_before, time_limit_message

log = logging.getLogger(__name__)

Status = Document.Status
COPY_BUFFER = 1024 * 1024
INDEX_WAIT_FOR_DELETE = 5  # seconds
STORAGE_FAILED = "The server could not store this file (its disk may be full). Nothing was saved; try again later."


class UploadError(Exception):
    """An upload we could not store; the message is meant for the user."""


@dataclass(frozen=True)
class UploadResult:
    document: Document
    is_duplicate: bool


def create_corpus(*, name: str, description: str = "", slug: str = "", manager=None) -> Corpus:
    """Creates a corpus with a slug made from its name, numbered if the name is taken; `manager`,
    if given, becomes its first manager."""
    base = slugify(slug or name)[:90] or "corpus"
    candidate, number = base, 1
    while Corpus.objects.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    corpus = Corpus.objects.create(name=name, slug=candidate, description=description)
    if manager is not None:
        Membership.objects.create(corpus=corpus, user=manager, role=Membership.Role.MANAGER)
    return corpus


def accept_upload(
    *, file: IO[bytes], name: str, corpus: Corpus, uploaded_by=None, source_url: str = ""
) -> UploadResult:
    """Stores a file and queues it, or returns the document that already has the same content."""
    incoming = Path(settings.MEDIA_ROOT) / "incoming"
    try:
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=incoming)
    except OSError as exc:
        raise UploadError(STORAGE_FAILED) from exc
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = copy_and_hash(file, out)
        except OSError as exc:
            raise UploadError(STORAGE_FAILED) from exc
        existing = find_copy(corpus, digest)
        if existing:
            return UploadResult(existing, is_duplicate=True)
        return store_new_document(tmp, digest=digest, size=size, name=name, corpus=corpus,
                                  uploaded_by=uploaded_by, source_url=source_url)  # fmt: skip
    finally:
        tmp.unlink(missing_ok=True)


def find_copy(corpus: Corpus, sha256: str) -> Document | None:
    """The corpus' document with this content, if it has one."""
    return corpus.documents.filter(sha256=sha256).first()


def copy_and_hash(source: IO[bytes], out: IO[bytes]) -> tuple[str, int]:
    if hasattr(source, "seek"):
        source.seek(0)
    hasher = hashlib.sha256()
    size = 0
    for block in iter(lambda: source.read(COPY_BUFFER), b""):
        hasher.update(block)
        out.write(block)
        size += len(block)
    out.flush()
    os.fsync(out.fileno())
    return hasher.hexdigest(), size


def store_new_document(
    tmp: Path, *, digest: str, size: int, name: str, corpus: Corpus, uploaded_by, source_url: str
) -> UploadResult:
    original_name = os.path.basename(name.replace("\\", "/")).strip()[:500] or "unnamed"
    detection = filetypes.detect_file_type(tmp, original_name)
    # Never the user's file name; not the hash alone either, so that deleting one document
    # cannot remove the file of a later upload of the same content.
    extension = filetypes.EXTENSIONS.get(detection.file_type, ".bin")
    relative = f"corpora/{corpus.pk}/{digest[:16]}-{uuid.uuid4().hex[:12]}{extension}"
    final = Path(settings.MEDIA_ROOT) / relative
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    except OSError as exc:
        raise UploadError(STORAGE_FAILED) from exc
    fields = {
        "corpus": corpus,
        "original_name": original_name,
        "file": relative,
        "sha256": digest,
        "file_type": detection.file_type,
        "size": size,
        "source_url": source_url,
        "uploaded_by": uploaded_by,
        "queued_at": timezone.now(),
    }
    if not detection.is_supported:
        fields |= {"status": Status.FAILED, "error": detection.problem, "finished_at": timezone.now()}
    try:
        with transaction.atomic():
            document = Document.objects.create(**fields)
            if document.status == Status.QUEUED:
                transaction.on_commit(lambda: enqueue(document.pk))
    except IntegrityError:
        # The same content arrived in another request a moment ago; that one stands.
        final.unlink(missing_ok=True)
        return UploadResult(corpus.documents.get(sha256=digest), is_duplicate=True)
    except Exception:
        final.unlink(missing_ok=True)
        raise
    return UploadResult(document, is_duplicate=False)


def enqueue(document_id: int) -> None:
    from .tasks import ingest

    try:
        ingest.delay(document_id)
    except Exception:
        # The row stays queued; a worker's sweep sends it again once the broker is back.
        log.exception("could not queue document %s: the broker did not answer", document_id)


def request_rebuild(corpus_id: int) -> None:
    """Asks a worker to rebuild a corpus' indexes from the database, at most once a minute per web process."""
    from .tasks import rebuild_index

    if not cache.add(f"rebuild-requested:{corpus_id}", True, timeout=60):
        return
    try:
        rebuild_index.delay(corpus_id)
    except Exception:
        log.exception("could not ask for a rebuild of corpus %s: the broker did not answer", corpus_id)


def retry_document(document: Document) -> bool:
    """Queues a failed document again; False if it was not failed."""
    with transaction.atomic():
        queued = Document.objects.filter(pk=document.pk, status=Status.FAILED).update(
            status=Status.QUEUED, error="", warning="", attempts=0, queued_at=timezone.now()
        )
        if queued:
            transaction.on_commit(lambda: enqueue(document.pk))
    return bool(queued)


def delete_document(document: Document) -> None:
    """Deletes a document's row, chunks, file and index entries."""
    ids = list(document.chunks.values_list("pk", flat=True))
    corpus_id, file_name, storage = document.corpus_id, document.file.name, document.file.storage
    document.delete()
    storage.delete(file_name)
    # A web request does not wait long for the index; a worker may hold it.
    indexing.remove_chunk_ids(corpus_id, ids, lock_timeout=INDEX_WAIT_FOR_DELETE)


class MembershipError(Exception):
    """A change of members that would leave a corpus in a bad state; the message is for the user."""


def set_member(corpus: Corpus, member, role: str) -> Membership:
    """Gives a user or a group a role in the corpus (changing it if they have one)."""
    field = "group" if isinstance(member, Group) else "user"
    current = corpus.memberships.filter(**{field: member}).first()
    if current and current.role == Membership.Role.MANAGER and role != Membership.Role.MANAGER:
        ensure_another_manager(current)
    membership, _ = Membership.objects.update_or_create(corpus=corpus, **{field: member}, defaults={"role": role})
    return membership


def remove_member(membership: Membership) -> None:
    if membership.role == Membership.Role.MANAGER:
        ensure_another_manager(membership)
    membership.delete()


def ensure_another_manager(membership: Membership) -> None:
    others = membership.corpus.memberships.filter(role=Membership.Role.MANAGER).exclude(pk=membership.pk)
    if not others.exists():
        raise MembershipError("A corpus keeps at least one manager: make someone else manager first.")


def delete_corpus(corpus: Corpus) -> None:
    """Deletes a corpus with its documents, files and index."""
    corpus_id = corpus.pk
    corpus.delete()
    indexing.delete_corpus_index(corpus_id)
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "corpora" / str(corpus_id), ignore_errors=True)


def requeue_lost_documents() -> list[int]:
    """Sends again the documents whose worker died and, if the queue is empty, those whose message was lost.

    A stalled document is sent at most once per INGEST_STALE_AFTER, however many workers sweep.
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
    sent = []
    for queryset in lost:
        for document_id in queryset.values_list("pk", flat=True):
            # Several workers sweep: the conditional update lets exactly one of them send it.
            if queryset.filter(pk=document_id).update(queued_at=now):
                enqueue(document_id)
                sent.append(document_id)
    if sent:
        log.info("sent %s lost document(s) to the queue again: %s", len(sent), sent)
    return sent


def broker_queue_is_empty() -> bool:
    from amqp.exceptions import ChannelError

    from config.celery import app

    try:
        with app.connection_for_write() as connection:
            queue = app.conf.task_default_queue
            return connection.default_channel.queue_declare(queue, passive=True).message_count == 0
    except Exception as exc:
        if isinstance(exc, ChannelError) and str(exc.reply_code) == "404":
            return True  # Redis keeps no key for an empty queue
        log.warning("could not read the length of the task queue", exc_info=True)
        return False


def recover_after_worker_loss(document_id: int, *, task_id: str, timed_out: bool) -> None:
    """Called when the process running a task died: fail on a hard time limit, otherwise queue again.

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
    elif owned.update(status=Status.QUEUED, queued_at=timezone.now()):
        # The attempt counter in the claim stops a document that kills its worker every time.
        enqueue(document_id)
