"""The corpus and document pages: thin views over access checks and services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import access, dispatch, downloads, filetypes, services
from .extracted import ExtractionError
from .forms import CorpusForm, DocumentDetailsForm, MemberForm, UploadForm
from .models import Corpus, Document, Membership

CHUNKS_SHOWN = 200


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "ingestion/home.html",
        {"corpora": Corpus.objects.readable_by(request.user).with_document_counts(), "form": CorpusForm()},
    )


@require_POST
@login_required
def create_corpus(request: HttpRequest) -> HttpResponse:
    """Any user may start a corpus; they become its manager."""
    form = CorpusForm(request.POST)
    if not form.is_valid():
        context = {"corpora": Corpus.objects.readable_by(request.user).with_document_counts(), "form": form}
        return render(request, "ingestion/home.html", context, status=400)
    corpus = services.create_corpus(**form.cleaned_data, manager=request.user)
    return redirect(corpus)


@login_required
def corpus_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return render_corpus(request, access.readable_corpus(request.user, slug), UploadForm())


def render_corpus(request: HttpRequest, corpus: Corpus, form: UploadForm, status: int = 200) -> HttpResponse:
    role = access.role_in(request.user, corpus)
    documents = list(corpus.documents.all())
    for document in documents:
        document.can_change = access.can_change(request.user, document, role)
    context = {
        "corpus": corpus,
        "documents": documents,
        "form": form,
        "max_upload": settings.UPLOAD_MAX_BYTES,
        "can_upload": access.RANK.get(role, 0) >= access.RANK[access.Role.CONTRIBUTOR],
        "can_manage": role == access.Role.MANAGER,
    }
    return render(request, "ingestion/corpus.html", context, status=status)


def managed_corpus(request: HttpRequest, slug: str) -> Corpus:
    corpus = access.readable_corpus(request.user, slug)
    if not access.can_manage(request.user, corpus):
        raise PermissionDenied("Only the corpus' managers may change its members and settings.")
    return corpus


@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    return render_members(request, managed_corpus(request, slug), MemberForm())


def render_members(request: HttpRequest, corpus: Corpus, form: MemberForm, status: int = 200) -> HttpResponse:
    memberships = corpus.memberships.select_related("user", "group").order_by("role", "user__username", "group__name")
    context = {"corpus": corpus, "memberships": memberships, "form": form, "roles": Membership.Role.choices}
    return render(request, "ingestion/members.html", context, status=status)


@require_POST
@login_required
def set_member(request: HttpRequest, slug: str) -> HttpResponse:
    corpus = managed_corpus(request, slug)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return render_members(request, corpus, form, status=400)
    try:
        membership = services.set_member(corpus, form.cleaned_data["member"], form.cleaned_data["role"])
    except services.MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user or membership.group} is now {membership.role} of this corpus.")
    return redirect("ingestion:members", slug=corpus.slug)


@require_POST
@login_required
def remove_member(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    corpus = managed_corpus(request, slug)
    membership = get_object_or_404(corpus.memberships, pk=pk)
    try:
        services.remove_member(membership)
    except services.MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user or membership.group} is no longer a member.")
    return redirect("ingestion:members", slug=corpus.slug)


@require_POST
@login_required
def corpus_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Open to every user or not, and rebuilding the index (in a worker)."""
    corpus = managed_corpus(request, slug)
    if "is_open" in request.POST:
        corpus.is_open = request.POST["is_open"] == "1"
        corpus.save(update_fields=["is_open"])
        messages.success(
            request,
            "Every user may now read this corpus." if corpus.is_open else "Only members may now read this corpus.",
        )
    if "reindex" in request.POST:
        if not services.request_rebuild(corpus):
            messages.error(request, dispatch.QUEUE_DOWN)
        else:
            messages.success(request, "The index is being rebuilt by a worker; asking keeps working meanwhile.")
    return redirect("ingestion:members", slug=corpus.slug)


@require_POST
@login_required
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """The upload form without the page's script (which sends each file to the API instead)."""
    corpus = access.uploadable_corpus(request.user, slug)
    # More files than DATA_UPLOAD_MAX_NUMBER_FILES stop Django before this view: the middleware explains it.
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_corpus(request, corpus, form, status=form.status)
    for outcome in services.accept_uploads(form.cleaned_data["files"], corpus=corpus, uploaded_by=request.user):
        if outcome.outcome == "error":
            messages.error(request, f"{outcome.name}: {outcome.error}")
        elif outcome.outcome == "duplicate":
            title = outcome.document.display_title
            messages.info(request, f"{outcome.name} is already in this corpus as “{title}”; not added again.")
        else:
            messages.success(request, f"{outcome.name} was uploaded.")
    return redirect(corpus)


@login_required
def corpus_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Rendered rows of the documents the page is watching (?ids=1,2), for it to swap in while it polls."""
    corpus = access.readable_corpus(request.user, slug)
    ids = [number for part in request.GET.get("ids", "").split(",")[:500] if (number := parse_id(part))]
    documents = corpus.documents.filter(pk__in=ids)
    role = access.role_in(request.user, corpus)
    rows = {document.pk: render_row(request, document, role) for document in documents}
    return JsonResponse({"rows": rows, "active": any(document.is_active for document in documents)})


def parse_id(text: str) -> int | None:
    """A row id from a query string, or None: a number the database could not hold is no id at all."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def render_row(request: HttpRequest, document: Document, role: str | None = None) -> str:
    document.can_change = access.can_change(request.user, document, role)
    return render_to_string("ingestion/_document_row.html", {"document": document}, request=request)


@login_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = access.readable_document(request.user, pk)
    return render_document(request, document, DocumentDetailsForm(instance=document))


@require_POST
@login_required
def edit_details(request: HttpRequest, pk: int) -> HttpResponse:
    document = access.changeable_document(request.user, pk)
    # A copy for the form: a refused form leaves its values on its instance, and the page shows what is saved.
    form = DocumentDetailsForm(request.POST, instance=Document.objects.get(pk=pk))
    if not form.is_valid():
        return render_document(request, document, form, status=400)
    services.update_details(document, **form.cleaned_data)
    messages.success(request, f"The details of “{document.display_title}” were saved.")
    return redirect(document)


@sensitive_post_parameters("password")
@require_POST
@login_required
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    document = access.changeable_document(request.user, pk)
    password = request.POST.get("password", "")
    try:
        services.unlock_document(document, password)
    except ExtractionError as exc:
        messages.error(request, str(exc))
        return redirect(document)
    messages.success(request, f"“{document.display_title}” opened with its password and is being read.")
    return redirect(document.corpus)


def render_document(request: HttpRequest, document: Document, form: DocumentDetailsForm, status: int = 200):
    chunks = list(document.chunks.defer("vector")[:CHUNKS_SHOWN])
    # A citation links here with ?passage=<chunk id>: that passage is shown, marked and scrolled to
    # (on its page, for a PDF).
    cited_id = parse_id(request.GET.get("passage", ""))
    cited = next((chunk for chunk in chunks if chunk.pk == cited_id), None)
    if cited_id and cited is None:
        cited = document.chunks.defer("vector").filter(pk=cited_id).first()
        chunks += [cited] if cited else []
    context = {
        "document": document,
        "chunks": chunks,
        "cited": cited,
        "cited_id": cited.pk if cited else None,
        "shows_pdf": document.file_type == filetypes.PDF and document.status == Document.Status.READY,
        "can_change": access.can_change(request.user, document),
        "details_form": form,
        "shows_picture": downloads.drawn_picture_type(document) is not None,
        # Where the cited passage is on the picture, as CSS boxes.
        "cited_marks": [
            {"left": f"{x0:.2%}", "top": f"{y0:.2%}", "width": f"{x1 - x0:.2%}", "height": f"{y1 - y0:.2%}"}
            for x0, y0, x1, y1 in (cited.regions if cited else [])
        ],
    }
    return render(request, "ingestion/document.html", context, status=status)


@login_required
def document_file(request: HttpRequest, pk: int) -> FileResponse:
    """The uploaded file itself (the API's GET /documents/{id}/file serves it to tokens)."""
    readable = request.GET.get("view") == "1"
    return downloads.original_file(access.readable_document(request.user, pk), readable=readable)


@require_POST
@login_required
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    document = access.changeable_document(request.user, pk)
    if not services.retry_document(document):
        messages.info(request, f"“{document}” has not failed, or trying again cannot change why it failed.")
    return redirect(document.corpus)


@require_POST
@login_required
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = access.changeable_document(request.user, pk)
    corpus, title = document.corpus, str(document)
    services.delete_document(document)
    messages.success(request, f"“{title}” was deleted.")
    return redirect(corpus)
