"""The admin for answers, read-only, with their sources and citations."""

from django.contrib import admin

from .models import Answer, Citation, Source


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SourceInline(ReadOnlyInline):
    model = Source
    fields = ["number", "title", "page", "score", "document", "text"]


class CitationInline(ReadOnlyInline):
    model = Citation
    fields = ["source", "claim", "form", "support", "is_verified"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    """Every answer, for audit: what was asked, what the model saw, and what it cited."""

    list_display = ["question", "asked_by", "mode", "status", "model", "unknown_references", "total_ms", "created_at"]
    list_filter = ["mode", "status", "backend"]
    search_fields = ["question", "text"]
    readonly_fields = [f.name for f in Answer._meta.fields] + ["corpora"]
    inlines = [SourceInline, CitationInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
