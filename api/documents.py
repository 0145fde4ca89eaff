"""Corpora and documents over the API: list, upload, follow, delete. Reading is decided by
`Corpus.objects.readable_by`, through ingestion.access, exactly as for the pages."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from ingestion import access, downloads, services
from ingestion.extracted import ExtractionError
from ingestion.forms import DocumentDetailsForm, UploadForm
from ingestion.models import Corpus, Document

from .pagination import LazyRows, Pages
from .schemas import (
    CorpusOut,
    DocumentDetailsIn,
    DocumentOut,
    Error,
    FieldErrors,
    PassageOut,
    PasswordIn,
    UploadOut,
    responses,
)

router = Router(tags=["documents"])


def corpus_data(request: HttpRequest, corpus: Corpus) -> dict:
    return {
        "slug": corpus.slug,
        "name": corpus.name,
        "description": corpus.description,
        "is_open": corpus.is_open,
        "role": access.role_in(request.user, corpus),
        "documents": corpus.document_count,
        "ready": corpus.ready_count,
        "embedding_model": corpus.embedding_model,
        "documents_url": request.build_absolute_uri(reverse("api:documents", args=[corpus.slug])),
    }


def document_data(request: HttpRequest, document: Document, role: str | None = None) -> dict:
    return {
        "id": document.pk,
        "corpus": document.corpus.slug,
        "title": document.display_title,
        "date": document.document_date,
        "source_url": document.source_url,
        "original_name": document.original_name,
        "file_type": document.file_type,
        "size": document.size,
        "sha256": document.sha256,
        "status": document.status,
        "progress": {
            "percent": document.progress_percent,
            "pages_done": document.pages_done,
            "pages_total": document.pages_total,
            "chunks_done": document.chunks_done,
            "chunks_total": document.chunks_total,
            "seconds_left": document.seconds_left,
        },
        "seconds": {"parse": document.parse_seconds, "embed": document.embed_seconds, "index": document.index_seconds},
        "error": document.error,
        "needs_password": document.needs_password,
        "warning": document.warning,
        "can_delete": access.can_change(request.user, document, role),
        "created_at": document.created_at,
        "finished_at": document.finished_at,
        "status_url": request.build_absolute_uri(reverse("api:document", args=[document.pk])),
        "file_url": request.build_absolute_uri(reverse("api:document_file", args=[document.pk])),
        "page_url": request.build_absolute_uri(document.get_absolute_url()),
    }


@router.get(
    "/corpora", response=responses({200: list[CorpusOut]}), url_name="corpora", summary="The corpora you may read"
)
def list_corpora(request: HttpRequest) -> list[dict]:
    return [corpus_data(request, corpus) for corpus in Corpus.objects.readable_by(request.user).with_document_counts()]


@router.get(
    "/corpora/{slug}", response=responses({200: CorpusOut, 404: Error}), url_name="corpus", summary="One corpus"
)
def get_corpus(request: HttpRequest, slug: str) -> dict:
    corpus = access.readable_corpus(request.user, slug)
    return corpus_data(request, Corpus.objects.readable_by(request.user).with_document_counts().get(pk=corpus.pk))


class DocumentFilter(Schema):
    status: Document.Status | None = None
    sha256: str | None = Field(
        None, pattern="^[0-9a-fA-F]{64}$", description="Only the document with this content, if the corpus has it."
    )


@router.get(
    "/corpora/{slug}/documents", response=responses({200: list[DocumentOut], 404: Error}), url_name="documents",
    summary="The documents of a corpus, newest first",
)  # fmt: skip
@paginate(Pages)
def list_documents(request: HttpRequest, slug: str, filters: Query[DocumentFilter]) -> LazyRows:
    corpus = access.readable_corpus(request.user, slug)
    documents = corpus.documents.select_related("corpus")
    if filters.status:
        documents = documents.filter(status=filters.status)
    if filters.sha256:
        # The page asks this before sending a file, so a copy is not uploaded at all.
        documents = documents.filter(sha256=filters.sha256.lower())
    role = access.role_in(request.user, corpus)
    return LazyRows(documents, lambda document: document_data(request, document, role))


@router.post(
    "/corpora/{slug}/documents",
    response=responses({200: UploadOut, 403: Error, 404: Error, 413: Error}),
    url_name="upload",
    summary="Upload documents (multipart, field `files`, one or more)",
    description=(
        "Each file is stored and queued, or, when the corpus already has a file with the same content, "
        "the existing document is returned with outcome `duplicate`. Follow each document's `status_url`."
    ),
)
def upload(request: HttpRequest, slug: str, files: File[list[UploadedFile]]) -> Status:
    corpus = access.uploadable_corpus(request.user, slug)
    form = UploadForm(data={}, files=request.FILES)
    if not form.is_valid():
        return Status(form.status, {"detail": " ".join(str(e) for errors in form.errors.values() for e in errors)})
    role = access.role_in(request.user, corpus)
    results = [
        {
            "name": outcome.name,
            "outcome": outcome.outcome,
            "error": outcome.error,
            "document": document_data(request, outcome.document, role) if outcome.document else None,
        }
        for outcome in services.accept_uploads(form.cleaned_data["files"], corpus=corpus, uploaded_by=request.user)
    ]
    return Status(200, {"results": results})


@router.get(
    "/documents/{pk}", response=responses({200: DocumentOut, 404: Error}), url_name="document",
    summary="A document's status and progress",
)  # fmt: skip
def get_document(request: HttpRequest, pk: int) -> dict:
    return document_data(request, access.readable_document(request.user, pk))


@router.patch(
    "/documents/{pk}", response=responses({200: DocumentOut, 400: FieldErrors, 403: Error, 404: Error}),
    url_name="edit_document", summary="Set a document's title, date or source URL",
)  # fmt: skip
def edit_document(request: HttpRequest, pk: int, details: DocumentDetailsIn) -> Status:
    document = access.changeable_document(request.user, pk)
    sent = details.model_dump(exclude_unset=True)
    # The page's form checks what is sent, over what is kept.
    data = {
        "title": sent.get("title", document.title) or "",
        "document_date": sent.get("date", document.document_date) or "",
        "source_url": sent.get("source_url", document.source_url) or "",
    }
    form = DocumentDetailsForm(data, instance=Document.objects.get(pk=pk))
    if not form.is_valid():
        fields = {"date" if name == "document_date" else name: list(errors) for name, errors in form.errors.items()}
        return Status(400, {"detail": "Some details were not saved: see fields.", "fields": fields})
    services.update_details(document, **form.cleaned_data)
    document.refresh_from_db()
    return Status(200, document_data(request, document))


@router.get(
    "/documents/{pk}/file", response=responses({404: Error}), url_name="document_file",
    summary="The uploaded file itself (a PDF, PNG or JPEG inline, anything else as a download)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file's bytes.",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)  # fmt: skip
def get_document_file(request: HttpRequest, pk: int) -> HttpResponse:
    return downloads.original_file(access.readable_document(request.user, pk))


@router.get(
    "/documents/{pk}/passages", response=responses({200: list[PassageOut], 404: Error}), url_name="passages",
    summary="A document's passages, as extracted",
)  # fmt: skip
@paginate(Pages)
def list_passages(request: HttpRequest, pk: int) -> list[dict]:
    document = access.readable_document(request.user, pk)
    return document.chunks.values("id", "ordinal", "page", "text")


@router.delete(
    "/documents/{pk}", response=responses({204: None, 403: Error, 404: Error}), url_name="delete_document",
    summary="Delete a document with its file, passages and index entries",
)  # fmt: skip
def delete_document(request: HttpRequest, pk: int) -> Status:
    services.delete_document(access.changeable_document(request.user, pk))
    return Status(204, None)


@router.post(
    "/documents/{pk}/password", response=responses({200: DocumentOut, 400: Error, 403: Error, 404: Error}),
    url_name="unlock_document", summary="Read an encrypted PDF with its password (used once, never kept)",
)  # fmt: skip
@sensitive_variables("body")
def unlock_document(request: HttpRequest, pk: int, body: PasswordIn) -> Status:
    document = access.changeable_document(request.user, pk)
    try:
        services.unlock_document(document, body.password)
    except ExtractionError as exc:
        return Status(400, {"detail": str(exc)})
    document.refresh_from_db()
    return Status(200, document_data(request, document))


@router.post(
    "/documents/{pk}/retry", response=responses({200: DocumentOut, 403: Error, 404: Error, 409: Error}),
    url_name="retry_document", summary="Queue a failed document again",
)  # fmt: skip
def retry_document(request: HttpRequest, pk: int) -> Status:
    document = access.changeable_document(request.user, pk)
    if not services.retry_document(document):
        return Status(409, {"detail": "This document has not failed, or trying again cannot change why it failed."})
    document.refresh_from_db()
    return Status(200, document_data(request, document))
