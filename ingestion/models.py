"""Corpora, their members, documents, passages (chunks) and re-embeddings."""

import os
from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from . import embeddings, extract, filetypes


def default_embedding_model() -> str:
    return embeddings.model_name(settings.EMBEDDING_MODEL)


class CorpusQuerySet(models.QuerySet):
    def readable_by(self, user) -> "CorpusQuerySet":
        """The corpora the user may read: the one rule every page, endpoint and search applies.

        Staff read everything; others read open corpora and those they or one of their groups are
        members of (any role can read)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self.all()
        member = models.Q(memberships__user=user) | models.Q(memberships__group__in=user.groups.all())
        return self.filter(member | models.Q(is_open=True)).distinct()

    def with_document_counts(self) -> "CorpusQuerySet":
        """Adds document_count and ready_count (distinct: the membership join may repeat a corpus' rows)."""
        ready = models.Q(documents__status=Document.Status.READY)
        return self.annotate(
            document_count=models.Count("documents", distinct=True),
            ready_count=models.Count("documents", filter=ready, distinct=True),
        )


class Corpus(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # Every vector in a corpus comes from one model, so that its index can be searched.
    embedding_model = models.CharField(max_length=300, default=default_embedding_model)
    # Which of the corpus' vector indexes is searched; a re-embedding builds the next one beside it.
    vector_generation = models.PositiveIntegerField(default=0)
    # Open: every logged-in user may read it (as a reader); members may have more.
    is_open = models.BooleanField(default=False, verbose_name="open to every user")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CorpusQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "corpora"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("ingestion:corpus", args=[self.slug])


class Membership(models.Model):
    """A user's or a group's role in a corpus."""

    class Role(models.TextChoices):
        READER = "reader"  # asks and reads documents
        CONTRIBUTOR = "contributor"  # also uploads, and deletes what they uploaded
        MANAGER = "manager"  # also manages members, reindexes and deletes anything

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="membership_of_a_user_or_a_group",
            ),
            models.UniqueConstraint(fields=["corpus", "user"], name="one_membership_per_user"),
            models.UniqueConstraint(fields=["corpus", "group"], name="one_membership_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.group} ({self.role}) in {self.corpus}"


class DocumentQuerySet(models.QuerySet):
    def ready(self) -> "DocumentQuerySet":
        return self.filter(status=Document.Status.READY)

    def active(self) -> "DocumentQuerySet":
        return self.filter(status__in=Document.ACTIVE_STATUSES)


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        PARSING = "parsing"
        EMBEDDING = "embedding"
        READY = "ready"
        FAILED = "failed"

    ACTIVE_STATUSES = (Status.QUEUED, Status.PARSING, Status.EMBEDDING)
    FILE_TYPES = list(filetypes.LABELS.items())

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=500)  # shown to people; never used as a path
    file = models.FileField(max_length=300)
    sha256 = models.CharField(max_length=64)
    # Of the extracted words, case aside: the same text in another file (a .txt and an .html) is a duplicate.
    text_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    file_type = models.CharField(max_length=20, choices=FILE_TYPES)
    size = models.BigIntegerField()
    source_url = models.URLField(max_length=1000, blank=True)
    document_date = models.DateField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    # Pages read by OCR (no text layer, or a junk one), as found so far, and how many of them are done.
    ocr_pages_total = models.PositiveIntegerField(default=0)
    ocr_pages_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why it failed, in words a user understands
    error_is_final = models.BooleanField(default=False)  # trying again cannot help (a password, say)
    needs_password = models.BooleanField(default=False)  # an encrypted PDF: its page asks for the password
    # A copy without the encryption, written when someone gave the password (which is not kept); `file` stays
    # the original, as uploaded.
    unlocked_file = models.FileField(max_length=300, blank=True)
    warning = models.TextField(blank=True)  # ready, but something was skipped
    embedding_model = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Set by each claim; a worker writes only while the row still carries its token.
    claim_token = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    parse_seconds = models.FloatField(null=True, blank=True)
    embed_seconds = models.FloatField(null=True, blank=True)
    index_seconds = models.FloatField(null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["corpus", "sha256"], name="one_document_per_content_per_corpus"),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return self.display_title

    def get_absolute_url(self) -> str:
        return reverse("ingestion:document", args=[self.pk])

    @property
    def display_title(self) -> str:
        """The title set for it, or else the file's name without its extension ("field-notes.pdf" shows as
        "field-notes"); cut to what a page can show."""
        name, extension = os.path.splitext(self.original_name)
        return extract.shorten(self.title or (name if name and extension else self.original_name))

    @property
    def readable_path(self) -> Path:
        """The file the pipeline reads: the unlocked copy of an encrypted PDF, else the upload itself."""
        return Path((self.unlocked_file or self.file).path)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def can_retry(self) -> bool:
        """Failed for a reason that trying again might fix (not an unsupported type or a password)."""
        return self.status == self.Status.FAILED and not self.error_is_final and self.file_type != filetypes.UNSUPPORTED

    @property
    def progress_percent(self) -> int:
        """Parsing fills the first fifth of the bar, embedding the rest (it takes longer); reading scanned pages
        (OCR) takes longer still, so with it, parsing fills four fifths."""
        if self.status == self.Status.READY:
            return 100
        share = 80 if self.ocr_pages_total else 20
        if self.status == self.Status.PARSING and self.pages_total:
            return round(share * self.pages_done / self.pages_total)
        if self.status == self.Status.EMBEDDING and self.chunks_total:
            return share + round((100 - share) * self.chunks_done / self.chunks_total)
        return 0

    @property
    def ocr_page_now(self) -> int | None:
        """Which of the pages read by OCR is being read (1-based), while one is."""
        if self.status != self.Status.PARSING or self.ocr_pages_done >= self.ocr_pages_total:
            return None
        return self.ocr_pages_done + 1

    @property
    def seconds_left(self) -> float | None:
        """Time left while embedding, from the rate so far; None when there is no rate to go by."""
        if self.status != self.Status.EMBEDDING or not self.chunks_done or not self.started_at:
            return None
        embedding_for = (timezone.now() - self.started_at).total_seconds() - (self.parse_seconds or 0)
        if embedding_for <= 0:
            return None
        return (self.chunks_total - self.chunks_done) * embedding_for / self.chunks_done

    @property
    def processing_seconds(self) -> float | None:
        if not (self.started_at and self.finished_at):
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    page = models.PositiveIntegerField(null=True, blank=True)  # 1-based, PDFs only
    # The headings it lies under, outermost first ("Usage › Streaming"): shown with it, and read with it by
    # the embedder and the keyword index (sections.py).
    section = models.CharField(max_length=300, blank=True)
    char_start = models.PositiveIntegerField()  # offsets into the page's extracted text
    char_end = models.PositiveIntegerField()
    token_count = models.PositiveIntegerField()
    is_ocr = models.BooleanField(default=False)  # read from the page's image
    # Where an OCR'd passage lies on its page: [x0, y0, x1, y1] boxes, fractions of the page's width and height.
    regions = models.JSONField(default=list, blank=True)
    vector = models.BinaryField(null=True)  # float32 bytes; the FAISS index is built from these
    # The vector from the model a re-embedding of the corpus is moving to, until it is swapped in.
    next_vector = models.BinaryField(null=True)

    class Meta:
        ordering = ["document", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="one_chunk_per_ordinal")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"

    @property
    def indexed_text(self) -> str:
        return indexed_text(self.section, self.text)


def indexed_text(section: str, text: str) -> str:
    """What the embedder and the keyword index read of a passage: its heading path, then its words."""
    return f"{section}\n\n{text}" if section else text


class Reembedding(models.Model):
    """Embedding every passage of a corpus again with another model, in the background; the new vectors
    and index replace the old ones in one step when all are done, so asking goes on meanwhile."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="reembeddings")
    from_model = models.CharField(max_length=300)
    to_model = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["corpus"], condition=models.Q(status__in=["queued", "running"]),
                name="one_active_reembedding_per_corpus",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.corpus}: {self.from_model} → {self.to_model} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return round(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0
