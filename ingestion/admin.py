from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from . import services, tasks
from .models import Corpus, Document, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ["user", "group", "role"]
    autocomplete_fields = ["user", "group"]


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "document_count", "is_open", "embedding_model", "created_at"]
    list_filter = ["is_open"]
    inlines = [MembershipInline]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    actions = ["rebuild_index"]

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
            # In a worker: a large corpus takes longer than a web request should.
            try:
                tasks.rebuild_index.delay(corpus.pk)
            except Exception:
                self.message_user(request, f"{corpus}: the task queue did not answer; try again.", messages.ERROR)
                continue
            self.message_user(request, f"{corpus}: the index is being rebuilt by a worker.")

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
