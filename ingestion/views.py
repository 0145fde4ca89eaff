from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from . import services
from .forms import CorpusForm, UploadForm
from .models import Corpus, Document

CHUNKS_SHOWN = 200


def staff_required(view):
    """Uploading is for staff until corpus roles exist."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    corpora = Corpus.objects.annotate(
        document_count=Count("documents"),
        ready_count=Count("documents", filter=Q(documents__status=Document.Status.READY)),
    )
    return render(request, "ingestion/home.html", {"corpora": corpora, "form": CorpusForm()})


@require_POST
@staff_required
def create_corpus(request: HttpRequest) -> HttpResponse:
    form = CorpusForm(request.POST)
    if not form.is_valid():
        return render(request, "ingestion/home.html", {"corpora": Corpus.objects.all(), "form": form}, status=400)
    corpus = services.create_corpus(**form.cleaned_data)
    return redirect(corpus)


@staff_required
def corpus_detail(request: HttpRequest, slug: str) -> HttpResponse:
    corpus = get_object_or_404(Corpus, slug=slug)
    return render_corpus(request, corpus, UploadForm())


def render_corpus(request: HttpRequest, corpus: Corpus, form: UploadForm, status: int = 200) -> HttpResponse:
    context = {
        "corpus": corpus,
        "documents": corpus.documents.all(),
        "form": form,
        "max_upload": settings.UPLOAD_MAX_BYTES,
    }
    return render(request, "ingestion/corpus.html", context, status=status)


@require_POST
@staff_required
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    corpus = get_object_or_404(Corpus, slug=slug)
    # More files than DATA_UPLOAD_MAX_NUMBER_FILES stop Django before this view (the CSRF check
    # reads the body first): templates/400.html explains it.
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_corpus(request, corpus, form, status=400)
    for file in form.cleaned_data["files"]:
        try:
            result = services.accept_upload(file=file, name=file.name, corpus=corpus, uploaded_by=request.user)
        except services.UploadError as exc:
            messages.error(request, f"{file.name}: {exc}")
            continue
        if result.is_duplicate:
            messages.info(request, f"{file.name} is already in this corpus as “{result.document}”; not added again.")
        else:
            messages.success(request, f"{file.name} was uploaded.")
    return redirect(corpus)


@staff_required
def corpus_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Rendered rows of the documents the page is watching (?ids=1,2), for it to swap in while it polls."""
    corpus = get_object_or_404(Corpus, slug=slug)
    ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.strip().isdigit()]
    documents = corpus.documents.filter(pk__in=ids[:500])
    rows = {
        document.pk: render_to_string("ingestion/_document_row.html", {"document": document}, request=request)
        for document in documents
    }
    return JsonResponse({"rows": rows, "active": any(document.is_active for document in documents)})


@staff_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document.objects.select_related("corpus"), pk=pk)
    chunks = list(document.chunks.defer("vector")[:CHUNKS_SHOWN])
    # A citation links here with ?passage=<chunk id>: that passage is shown, marked and scrolled to.
    cited_id = int(request.GET["passage"]) if request.GET.get("passage", "").isdigit() else None
    if cited_id and cited_id not in {chunk.pk for chunk in chunks}:
        chunks += list(document.chunks.defer("vector").filter(pk=cited_id))
    context = {"document": document, "chunks": chunks, "cited_id": cited_id}
    return render(request, "ingestion/document.html", context)


@require_POST
@staff_required
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk)
    if not services.retry_document(document):
        messages.info(request, f"“{document}” is not failed, so there is nothing to retry.")
    return redirect(document.corpus)


@require_POST
@staff_required
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document.objects.select_related("corpus"), pk=pk)
    corpus, title = document.corpus, str(document)
    services.delete_document(document)
    messages.success(request, f"“{title}” was deleted.")
    return redirect(corpus)
