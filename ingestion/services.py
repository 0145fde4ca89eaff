"""Commands of the web side: corpora and their members; upload, retry and delete documents; rebuilds and
re-embeddings asked for by a person."""

import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables

from . import corpus_index, dispatch, extract, filetypes, reembedding, sandbox
from .models import Corpus, Document, Membership, Reembedding
from .pipeline import stale_before

log = logging.getLogger(__name__)

Status = Document.Status
COPY_BUFFER = 1024 * 1024
INDEX_WAIT_FOR_DELETE = 5  # seconds
REEMBEDDING_NOT_SENT = "The task queue did not answer, so the re-embedding did not start. Try again."
UNLOCK_SECONDS = 120
UNLOCK_TOO_SLOW = "Opening this PDF with its password took too long, so it was stopped. Try again later."
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
    *, file: IO[bytes], name: str, corpus: Corpus, uploaded_by=None, source_url: str = "", send: bool = True
) -> UploadResult:
    """Stores a file and queues it, or returns the document that already has the same content. With
    send=False, no worker is told: the caller ingests the queued document itself (tasks.ingest)."""
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
                                  uploaded_by=uploaded_by, source_url=source_url, send=send)  # fmt: skip
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one file of an upload: "uploaded", a "duplicate" of `document`, or an "error"."""

    name: str
    outcome: str
    document: Document | None = None
    error: str = ""


def accept_uploads(files, *, corpus: Corpus, uploaded_by) -> list[UploadOutcome]:
    """Stores and queues each file (uploaded files, checked by UploadForm); one that cannot be stored
    does not stop the others."""
    outcomes = []
    for file in files:
        try:
            stored = accept_upload(file=file, name=file.name, corpus=corpus, uploaded_by=uploaded_by)
        except UploadError as exc:
            outcomes.append(UploadOutcome(file.name, "error", error=str(exc)))
            continue
        outcomes.append(UploadOutcome(file.name, "duplicate" if stored.is_duplicate else "uploaded", stored.document))
    return outcomes


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
    tmp: Path, *, digest: str, size: int, name: str, corpus: Corpus, uploaded_by, source_url: str, send: bool
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
            if document.status == Status.QUEUED and send:
                transaction.on_commit(lambda: dispatch.ingest(document.pk))
    except IntegrityError:
        # The same content arrived in another request a moment ago; that one stands.
        final.unlink(missing_ok=True)
        return UploadResult(corpus.documents.get(sha256=digest), is_duplicate=True)
    except Exception:
        final.unlink(missing_ok=True)
        raise
    return UploadResult(document, is_duplicate=False)


def retry_document(document: Document) -> bool:
    """Queues a failed document again; False if it was not failed, or failed for good (see can_retry)."""
    with transaction.atomic():
        queued = Document.objects.filter(pk=document.pk, status=Status.FAILED, error_is_final=False).update(
            status=Status.QUEUED, error="", warning="", attempts=0, queued_at=timezone.now()
        )
        if queued:
            transaction.on_commit(lambda: dispatch.ingest(document.pk))
    return bool(queued)


@sensitive_variables("password")
def unlock_document(document: Document, password: str) -> None:
    """Reads an encrypted PDF with its password, once, and queues it: a copy without the encryption is written
    beside the original (which stays as uploaded), and the pipeline reads that. The password is not stored,
    logged or sent to a worker. Raises ExtractionError, in words, for a wrong password or a damaged file.

    The file is opened in the sandbox (a child process with the parsers' memory cap and a deadline), as a
    worker would: an encrypted PDF is still an untrusted one."""
    if not document.needs_password:
        raise extract.ExtractionError("This document does not need a password.")
    original = Path(document.file.path)
    relative = f"{os.path.dirname(document.file.name)}/{original.stem}-unlocked.pdf"
    out = Path(settings.MEDIA_ROOT) / relative
    try:
        limit = settings.PARSE_MEMORY_MB * 1024**2
        sandbox.run(extract.write_unlocked_pdf, original, password, out, memory_limit=limit,
                    deadline=time.monotonic() + UNLOCK_SECONDS)  # fmt: skip
    except sandbox.TimedOut as exc:
        out.unlink(missing_ok=True)
        raise extract.ExtractionError(UNLOCK_TOO_SLOW) from exc
    except Exception:
        out.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        queued = Document.objects.filter(pk=document.pk, status=Status.FAILED, needs_password=True).update(
            unlocked_file=relative, needs_password=False, error_is_final=False, status=Status.QUEUED, error="",
            warning="", attempts=0, queued_at=timezone.now(),
        )  # fmt: skip
        if queued:
            transaction.on_commit(lambda: dispatch.ingest(document.pk))
    if not queued:
        out.unlink(missing_ok=True)


def update_details(document: Document, *, title: str, document_date, source_url: str) -> None:
    """Sets what people see and answers cite: the title (empty: the file's name), date and source URL.
    Nothing is indexed by them, so the passages stay as they are."""
    document.title, document.document_date, document.source_url = title, document_date, source_url
    document.save(update_fields=["title", "document_date", "source_url"])


def delete_document(document: Document) -> None:
    """Deletes a document's row, chunks, file and index entries."""
    ids = list(document.chunks.values_list("pk", flat=True))
    corpus_id, storage = document.corpus_id, document.file.storage
    file_names = [name for name in (document.file.name, document.unlocked_file.name) if name]
    document.delete()
    for file_name in file_names:
        storage.delete(file_name)
    # A web request does not wait long for the index; a worker may hold it.
    corpus_index.remove_chunk_ids(corpus_id, ids, lock_timeout=INDEX_WAIT_FOR_DELETE)


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
    corpus_index.delete_corpus_index(corpus_id)
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "corpora" / str(corpus_id), ignore_errors=True)


class ReembeddingError(Exception):
    """A re-embedding that cannot be started; the message is for the user."""


def start_reembedding(corpus: Corpus, model: str, *, requested_by=None) -> Reembedding:
    """Queues a re-embedding of the corpus with `model` (a sentence-transformers name or path)."""
    model = model.strip()
    if not model:
        raise ReembeddingError("Name the embedding model to move to.")
    # One whose worker went away without a word would otherwise block every later one.
    cutoff = stale_before()
    corpus.reembeddings.filter(status__in=Reembedding.ACTIVE_STATUSES).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff)
    ).update(status=Reembedding.Status.FAILED, error=reembedding.WENT_AWAY, finished_at=timezone.now())
    try:
        with transaction.atomic():
            started = Reembedding.objects.create(
                corpus=corpus, from_model=corpus.embedding_model, to_model=model, requested_by=requested_by
            )
            transaction.on_commit(lambda: send_reembedding(started.pk))
    except IntegrityError as exc:
        raise ReembeddingError(f"{corpus} is already being re-embedded; wait for it to finish.") from exc
    return started


def send_reembedding(reembedding_id: int) -> None:
    if not dispatch.reembed(reembedding_id):
        reembedding.fail(reembedding_id, REEMBEDDING_NOT_SENT)


def request_rebuild(corpus: Corpus) -> bool:
    """Asks a worker to rebuild a corpus' indexes (a large corpus takes longer than a web request should);
    False if the task queue did not answer."""
    return dispatch.rebuild(corpus.pk)
