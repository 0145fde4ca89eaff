"""What the API takes and returns. Its OpenAPI schema is generated from these."""

from datetime import date as date_type
from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from qa.forms import MAX_QUESTION_CHARS


class Error(Schema):
    detail: str = Field(description="What went wrong, in words a user understands.")


class ValidationErrors(Error):
    errors: list[dict] = Field(description="Each input that does not fit the schema, and why.")


def responses(own: dict) -> dict:
    """An operation's documented responses: its own, and those any operation may give (a body that is not
    JSON, no valid token, an input that does not fit the schema, too many unknown tokens from one address)."""
    return {400: Error, 401: Error, 422: ValidationErrors, 429: Error} | own


class FieldErrors(Error):
    fields: dict[str, list[str]] = Field(default_factory=dict, description="The problems of each input field.")


class CorpusOut(Schema):
    slug: str
    name: str
    description: str
    is_open: bool = Field(description="Every logged-in user may read it.")
    role: Literal["reader", "contributor", "manager"] = Field(description="Your role in it.")
    documents: int
    ready: int = Field(description="Documents that can be searched.")
    embedding_model: str
    documents_url: str


class Progress(Schema):
    percent: int
    pages_done: int
    pages_total: int
    chunks_done: int
    chunks_total: int
    seconds_left: float | None = Field(description="While embedding, the time left at the rate so far.")


class StageSeconds(Schema):
    parse: float | None
    embed: float | None
    index: float | None


class DocumentOut(Schema):
    id: int
    corpus: str = Field(description="The corpus' slug.")
    title: str = Field(description="As shown: the title set for it, or its own, or else the file's name.")
    date: date_type | None = Field(description="The document's own date, when it has one.")
    source_url: str = Field(description="Where it can be found; answers cite it.")
    original_name: str
    file_type: str
    size: int
    sha256: str
    status: Literal["queued", "parsing", "embedding", "ready", "failed"]
    progress: Progress
    seconds: StageSeconds = Field(description="How long each stage of ingestion took.")
    error: str = Field(description="Why it failed, when it did.")
    needs_password: bool = Field(description="An encrypted PDF: POST its password to .../password to read it.")
    warning: str = Field(description="Ready, but something was skipped (pages without text, say).")
    can_delete: bool = Field(description="Whether you may delete (or retry) it.")
    created_at: datetime
    finished_at: datetime | None
    status_url: str
    file_url: str
    page_url: str


class DocumentDetailsIn(Schema):
    """Only the fields sent change. An empty title goes back to the file's name; null clears the date."""

    title: str | None = Field(default=None, max_length=500)
    date: date_type | None = None
    source_url: str | None = Field(default=None, max_length=1000, description="http or https; empty clears it.")


class PasswordIn(Schema):
    password: str = Field(max_length=1000, description="The PDF's password: used once to read it, never kept.")


class UploadOutcome(Schema):
    name: str = Field(description="The file's name as sent.")
    outcome: Literal["uploaded", "duplicate", "error"]
    error: str = ""
    document: DocumentOut | None = Field(description="The new document, or the one that already had this content.")


class UploadOut(Schema):
    results: list[UploadOutcome]


class PassageOut(Schema):
    id: int
    ordinal: int
    page: int | None = Field(description="1-based; PDFs only.")
    text: str


class AskIn(Schema):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question.")
    corpora: list[str] = Field(default_factory=list, description="Slugs to search; none means all you may read.")


class SourceOut(Schema):
    number: int
    title: str
    page: int | None
    date: str
    url: str
    document_id: int | None
    chunk_id: int | None
    text: str
    score: float


class CitationOut(Schema):
    source: int
    claim: str
    claim_span: list[int]
    form: str
    support: float
    verified: bool
    highlight: list[int] = Field(description="The supporting sentence, as offsets into the source's text.")


class Timings(Schema):
    waited: float | None = Field(None, description="Milliseconds spent waiting for a turn on the web's CPU.")
    retrieval: float | None
    first_token: float | None
    total: float | None


class AnswerOut(Schema):
    answer_id: int
    question: str
    answer: str
    mode: Literal["generated", "extracted"]
    is_generated: bool
    status: Literal["answering", "complete", "incomplete", "unavailable", "no_passages"]
    message: str
    backend: str
    model: str
    rating: int | None
    created_at: datetime
    timings_ms: Timings
    sources_dropped: int
    unknown_references: int
    sources: list[SourceOut]
    sources_hidden: int = Field(description="Sources of documents you can no longer read, left out.")
    text_withheld: bool = Field(
        description="The answer was made from one of those sources, so its text and citations are left out too."
    )
    citations: list[CitationOut]


class AnswerSummary(Schema):
    answer_id: int
    question: str
    answer: str = Field(description="Empty when it was made from documents you can no longer read.")
    status: str
    rating: int | None
    created_at: datetime
    corpora: list[str]
    url: str


class RatingIn(Schema):
    rating: Literal["up", "down", "none"]


class RatingOut(Schema):
    answer_id: int
    rating: int | None
