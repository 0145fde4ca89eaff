"""The admin for corpora, documents, members and re-embeddings; its actions call services."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.template.response import TemplateResponse

from . import dispatch, services
from .models import Corpus, Document, Membership, Reembedding


class ReembedForm(forms.Form):
    model = forms.CharField(
        max_length=300,
        label="Embedding model",
        help_text=(
            "A sentence-transformers model name or a folder on the workers' disk. The workers load it; the "
            "server has no internet, so a name must already be in the model cache."
        ),
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ["user", "group", "role"]
    autocomplete_fields = ["user", "group"]


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "document_count", "is_open", "embedding_model", "reembedding", "created_at"]
    list_filter = ["is_open"]
    inlines = [MembershipInline]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    actions = ["rebuild_index", "reembed"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(document_count=Count("documents"))

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # The index holds this model's vectors: changing it would need every document embedded again.
        return ["embedding_model"] if obj else []

    @admin.display(ordering="document_count")
    def document_count(self, corpus: Corpus) -> int:
        return corpus.document_count

    @admin.action(description="Rebuild the search index from the database")
    def rebuild_index(self, request, queryset) -> None:
        for corpus in queryset:
            if not services.request_rebuild(corpus):
                self.message_user(request, f"{corpus}: {dispatch.QUEUE_DOWN}", messages.ERROR)
                continue
            self.message_user(request, f"{corpus}: the index is being rebuilt by a worker.")

    @admin.display(description="Re-embedding")
    def reembedding(self, corpus: Corpus) -> str:
        latest = corpus.reembeddings.first()
        if latest is None:
            return "—"
        if latest.is_active:
            return f"to {latest.to_model}: {latest.status}, {latest.progress_percent}%"
        return f"to {latest.to_model}: {latest.status}" + (f" ({latest.error})" if latest.error else "")

    @admin.action(description="Re-embed with another embedding model…")
    def reembed(self, request, queryset):
        """Asks for the model, then starts one background re-embedding per corpus."""
        form = ReembedForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Re-embed corpora",
                "corpora": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/ingestion/reembed.html", context)
        for corpus in queryset:
            try:
                services.start_reembedding(corpus, form.cleaned_data["model"], requested_by=request.user)
            except services.ReembeddingError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(
                request,
                f"{corpus}: re-embedding with {form.cleaned_data['model']} in the background; asking keeps using "
                "the current vectors until the new ones are all done.",
            )
        return None

    def delete_model(self, request, corpus: Corpus) -> None:
        self.delete_queryset(request, Corpus.objects.filter(pk=corpus.pk))

    def delete_queryset(self, request, queryset) -> None:
        for corpus in queryset:
            services.delete_corpus(corpus)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "corpus", "file_type", "status", "pages_total", "chunks_total", "created_at"]
    list_filter = ["status", "file_type", "corpus"]
    search_fields = ["title", "original_name", "sha256"]
    fields = [
        "corpus", "title", "original_name", "source_url", "document_date", "file_type", "size", "sha256",
        "status", "error", "warning", "pages_done", "pages_total", "chunks_done", "chunks_total",
        "embedding_model", "attempts", "created_at", "started_at", "finished_at",
        "parse_seconds", "embed_seconds", "index_seconds",
    ]  # fmt: skip
    editable = {"title", "source_url", "document_date"}
    # A URL typed without a scheme means https (Django 6's default, adopted now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["retry"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [name for name in self.fields if name not in self.editable]

    def has_add_permission(self, request) -> bool:
        return False  # documents come in through uploads, which store and hash the file

    @admin.action(description="Retry the selected failed documents")
    def retry(self, request, queryset) -> None:
        retried = sum(services.retry_document(document) for document in queryset)
        self.message_user(request, f"{retried} document(s) queued again.", messages.SUCCESS)

    def save_model(self, request, document: Document, form, change: bool) -> None:
        # Only the edited fields: a worker may be writing status and progress to the same row.
        document.save(update_fields=sorted(self.editable))

    def delete_model(self, request, document: Document) -> None:
        services.delete_document(document)

    def delete_queryset(self, request, queryset) -> None:
        for document in queryset:
            services.delete_document(document)


@admin.register(Reembedding)
class ReembeddingAdmin(admin.ModelAdmin):
    """What each re-embedding did; they are started from the corpora's action."""

    list_display = ["corpus", "from_model", "to_model", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in Reembedding._meta.fields]

    @admin.display(description="Progress")
    def progress(self, reembedding: Reembedding) -> str:
        return f"{reembedding.chunks_done} of {reembedding.chunks_total} passages ({reembedding.progress_percent}%)"

    def has_add_permission(self, request) -> bool:
        return False
