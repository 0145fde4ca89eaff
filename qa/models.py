"""Conversations and their answers, the passages the answers drew on (sources), the citations in their text,
with ratings; and documents' summaries."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ingestion.models import Chunk, Corpus, Document


class Conversation(models.Model):
    """A thread of questions: its turns are answers, in the order asked. Its owner continues, renames and
    deletes it (with its answers); staff may read it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200)
    corpora = models.ManyToManyField(Corpus, related_name="conversations", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)  # when its last turn was asked

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("qa:conversation", args=[self.pk])


class Answer(models.Model):
    """A question, the answer it got, and everything needed to audit how."""

    class Mode(models.TextChoices):
        GENERATED = "generated"
        EXTRACTED = "extracted"

    class Status(models.TextChoices):
        ANSWERING = "answering"
        COMPLETE = "complete"  # the whole answer came back
        INCOMPLETE = "incomplete"  # the answer service stopped part way; the text is partial
        UNAVAILABLE = "unavailable"  # no answer; the passages are still there
        NO_PASSAGES = "no_passages"  # nothing relevant was found to answer from

    class Rewrite(models.TextChoices):
        AS_ASKED = "as asked"  # a first question, or one clear on its own
        LLM = "llm"  # made standalone by the LLM, from the conversation
        HEURISTIC = "heuristic"  # the previous question's key terms added (no LLM)
        EDITED = "edited"  # the asker edited what is searched
        FELL_BACK = "fell back"  # the LLM's rewrite was empty or absurd: searched as asked

    question = models.TextField()
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="turns"
    )
    # What was searched for, and the question the model was asked: the question made standalone.
    searched_for = models.TextField(blank=True)
    rewrite = models.CharField(max_length=20, choices=Rewrite.choices, default=Rewrite.AS_ASKED)
    # The rewrite said the question builds on the previous answer, which went into the prompt.
    used_previous_answer = models.BooleanField(default=False)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    corpora = models.ManyToManyField(Corpus, related_name="answers")
    text = models.TextField(blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ANSWERING)
    message = models.TextField(blank=True)  # what went wrong, in words a user understands
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=300, blank=True)
    finish_reason = models.CharField(max_length=30, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    sources_dropped = models.PositiveIntegerField(default=0)  # passages that did not fit the prompt
    unknown_references = models.PositiveIntegerField(default=0)  # citations of sources not in the prompt
    # Time spent waiting for a turn on the CPU (qa/admission.py), not counted in retrieval_ms.
    waited_ms = models.FloatField(null=True, blank=True)
    retrieval_ms = models.FloatField(null=True, blank=True)
    first_token_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The asker's verdict: thumbs up (1) or down (-1); None until they give one.
    rating = models.SmallIntegerField(null=True, blank=True, choices=[(1, "helpful"), (-1, "not helpful")])
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.question[:80]

    def get_absolute_url(self) -> str:
        return reverse("qa:answer", args=[self.pk])

    @property
    def is_extracted(self) -> bool:
        return self.mode == self.Mode.EXTRACTED


class Source(models.Model):
    """A passage that was in the prompt, numbered as the model saw it."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="sources")
    number = models.PositiveIntegerField()
    # The passage as it was sent; the chunk and document may be deleted later.
    chunk = models.ForeignKey(Chunk, null=True, on_delete=models.SET_NULL, related_name="+")
    document = models.ForeignKey(Document, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=500)
    page = models.PositiveIntegerField(null=True, blank=True)
    section = models.CharField(max_length=300, blank=True)  # the headings the passage lies under
    is_ocr = models.BooleanField(default=False)  # read from a scan: its words may hold misread letters
    date = models.CharField(max_length=10, blank=True)  # ISO date, as the prompt gave it
    url = models.CharField(max_length=1000)
    text = models.TextField()
    score = models.FloatField()  # cosine similarity to the question

    class Meta:
        ordering = ["answer", "number"]
        constraints = [models.UniqueConstraint(fields=["answer", "number"], name="one_source_per_number")]

    def __str__(self) -> str:
        return f"[{self.number}] {self.title}"


class Citation(models.Model):
    """A place in the answer that cites a source, and whether the source supports it."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="citations")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="citations")
    claim = models.TextField()  # the sentence(s) of the answer that cite the source
    claim_start = models.PositiveIntegerField()
    claim_end = models.PositiveIntegerField()
    form = models.CharField(max_length=20)  # number | metadata
    support = models.FloatField()
    is_verified = models.BooleanField()
    # The sentence of the source that supports the claim best, as offsets into Source.text.
    highlight_start = models.PositiveIntegerField()
    highlight_end = models.PositiveIntegerField()

    class Meta:
        ordering = ["answer", "claim_start", "source__number"]

    def __str__(self) -> str:
        return f"{self.answer_id} cites [{self.source.number}]"


class Summary(models.Model):
    """A document's summary: made once for a document's text, model, prompt version and length, then reused."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="summaries")
    text_sha256 = models.CharField(max_length=64)  # the document's text it was made from
    model = models.CharField(max_length=300)  # the LLM's model id, or "extracted"
    prompt_version = models.PositiveIntegerField()
    target_words = models.PositiveIntegerField()
    is_extracted = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)  # why it failed, in words a user understands
    text = models.TextField(blank=True)  # with [n] markers: the parts of cited_level, numbered from 1
    cited_level = models.PositiveIntegerField(default=0)
    sections_total = models.PositiveIntegerField(default=0)  # model calls expected, sections and combining
    sections_done = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # a heartbeat while it runs
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "text_sha256", "model", "prompt_version", "target_words"],
                name="one_summary_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"Summary of {self.document_id} ({self.model})"


class SummaryPart(models.Model):
    """A summary of consecutive passages (level 0, a section) or of consecutive parts of the level below."""

    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="parts")
    level = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField()  # its number among its level's parts, from 1
    text = models.TextField()
    # Where it lies: its first passage (gone if the document is ingested again), and its pages.
    first_chunk = models.ForeignKey(Chunk, null=True, on_delete=models.SET_NULL, related_name="+")
    first_page = models.PositiveIntegerField(null=True, blank=True)
    last_page = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["summary", "level", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["summary", "level", "ordinal"], name="one_summary_part_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.summary_id}: level {self.level}, part {self.ordinal}"
