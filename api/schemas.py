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
    corpora: list[str] = Field(
        default_factory=list,
        description="Slugs to search; none means the conversation's corpora, or all you may read.",
    )
    conversation: int | None = Field(
        None, description="Continue this conversation of yours: the question is read as a follow-up of its turns."
    )
    search: str = Field(
        "", max_length=MAX_QUESTION_CHARS,
        description="Search for this instead of the question made standalone (an edited `searched_for`).",
    )  # fmt: skip


class SourceOut(Schema):
    number: int
    title: str
    page: int | None
    section: str = Field("", description="The headings the passage lies under, outermost first.")
    ocr: bool = Field(False, description="Read from a picture of the page: a letter may be misread.")
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


REWRITES = Literal["as asked", "llm", "heuristic", "edited", "fell back"]


class AnswerOut(Schema):
    answer_id: int
    conversation_id: int | None
    question: str
    searched_for: str = Field(description="What was searched, and asked of the model: the question made standalone.")
    rewrite: REWRITES = Field(
        description="How: as asked; by the LLM from the conversation; by the heuristic (no LLM); as you edited "
        "it; or as asked because the LLM's rewrite was empty or unrelated."
    )
    used_previous_answer: bool = Field(description="The previous answer went into the prompt as well.")
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


class ConversationSummary(Schema):
    conversation_id: int
    title: str
    turns: int
    created_at: datetime
    updated_at: datetime
    corpora: list[str]
    url: str


class ConversationOut(ConversationSummary):
    answers: list[AnswerOut] = Field(description="Its turns, oldest first.")


class RenameIn(Schema):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S", description="Not only spaces.")


class AnswerSummary(Schema):
    answer_id: int
    conversation_id: int | None
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


class SummaryPartOut(Schema):
    number: int
    text: str
    first_page: int | None
    last_page: int | None
    url: str = Field(description="The document page, opened where the part starts.")


class SummaryOut(Schema):
    summary_id: int
    document_id: int
    status: Literal["queued", "running", "ready", "failed"]
    message: str
    model: str = Field(description="The LLM that wrote it, or `extracted`.")
    is_extracted: bool
    target_words: int
    words: int
    text: str = Field(description="The summary; each sentence ends with [n], a number of `sources`.")
    sections_total: int
    sections_done: int
    seconds: float | None
    created_at: datetime
    sources: list[SummaryPartOut] = Field(description="What the text's [n] cite: sections, or their summaries.")
    sections: list[SummaryPartOut] = Field(description="Each section's own summary, in order, as it finishes.")
