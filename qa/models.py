"""Answers, the passages they drew on (sources), and the citations in their text, with ratings."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from ingestion.models import Chunk, Corpus, Document


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

    question = models.TextField()
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
