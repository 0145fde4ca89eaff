"""Stored answers as plain data, for the API, the stream's events and `ask --json`."""

from django.urls import reverse

from ingestion import access

from . import summaries
from .models import Answer, Citation, Source, Summary, SummaryPart

# An answer's text quotes or restates the passages it was made from (cited or not: a model may restate one
# it does not cite), and its citations quote the text: once one of those passages is hidden, so are they.
WITHHELD = (
    "This answer was made from documents you can no longer read (or that were deleted), so its text is not "
    "shown. Ask again to get an answer from what you can read now."
)


def withheld_answers(user, answers: list[Answer]) -> set[int]:
    """The ids of those answers made from a passage whose document the user can no longer read, or that is gone."""
    used = list(Source.objects.filter(answer__in=answers).values_list("answer_id", "document_id"))
    ids = {document_id for _, document_id in used if document_id}
    readable = set(access.readable_documents(user).filter(pk__in=ids).values_list("pk", flat=True))
    return {answer_id for answer_id, document_id in used if document_id not in readable}


def hidden_sources(user, answer: Answer) -> frozenset[int]:
    """The numbers of the answer's sources whose documents the user can no longer read (or that are gone)."""
    sources = list(answer.sources.only("number", "document_id"))
    ids = [s.document_id for s in sources if s.document_id]
    readable = set(access.readable_documents(user).filter(pk__in=ids).values_list("pk", flat=True))
    return frozenset(s.number for s in sources if s.document_id not in readable)


def source_data(source: Source) -> dict:
    return {
        "number": source.number,
        "title": source.title,
        "page": source.page,
        "section": source.section,
        "ocr": source.is_ocr,
        "date": source.date,
        "url": source.url,
        "document_id": source.document_id,
        "chunk_id": source.chunk_id,
        "text": source.text,
        "score": round(source.score, 4),
    }


def sources_data(answer: Answer) -> dict:
    return {
        "answer_id": answer.pk,
        "mode": answer.mode,
        "sources": [source_data(s) for s in answer.sources.all()],
    }


def citation_data(citation: Citation) -> dict:
    return {
        "source": citation.source.number,
        "claim": citation.claim,
        "claim_span": [citation.claim_start, citation.claim_end],
        "form": citation.form,
        "support": round(citation.support, 4),
        "verified": citation.is_verified,
        "highlight": [citation.highlight_start, citation.highlight_end],
    }


def searched_data(answer: Answer) -> dict:
    """What the question was searched as, and how it came to be that (Answer.Rewrite)."""
    return {
        "answer_id": answer.pk,
        "conversation_id": answer.conversation_id,
        "question": answer.question,
        "searched_for": answer.searched_for or answer.question,
        "rewrite": answer.rewrite,
    }


def answer_data(answer: Answer, hidden: frozenset[int] = frozenset()) -> dict:
    """Everything about a stored answer, as plain data for JSON, less the sources numbered in
    `hidden` (passages of documents the reader can no longer read), and less its text and citations when
    there are any."""
    is_withheld = bool(hidden)
    citations = [] if is_withheld else list(answer.citations.select_related("source"))
    return searched_data(answer) | {
        "used_previous_answer": answer.used_previous_answer,
        "answer": "" if is_withheld else answer.text,
        "text_withheld": is_withheld,
        "mode": answer.mode,
        "is_generated": answer.mode == Answer.Mode.GENERATED,
        "status": answer.status,
        "message": WITHHELD if is_withheld else answer.message,
        "backend": answer.backend,
        "model": answer.model,
        "rating": answer.rating,
        "created_at": answer.created_at.isoformat(),
        "timings_ms": {
            "waited": answer.waited_ms,
            "retrieval": answer.retrieval_ms,
            "first_token": answer.first_token_ms,
            "total": answer.total_ms,
        },
        "sources_dropped": answer.sources_dropped,
        "unknown_references": answer.unknown_references,
        "sources": [source_data(s) for s in answer.sources.all() if s.number not in hidden],
        "sources_hidden": len(hidden),
        "citations": [citation_data(c) for c in citations],
    }


def summary_data(summary: Summary) -> dict:
    """A summary as plain data: its state and text, and its parts (the sections, as they finish), each with a
    link to where it starts in the document; the text's [n] are the parts of cited_level."""
    parts = list(summary.parts.all())
    return {
        "summary_id": summary.pk,
        "document_id": summary.document_id,
        "status": summary.status,
        "message": summary.message,
        "model": summary.model,
        "is_extracted": summary.is_extracted,
        "target_words": summary.target_words,
        "words": summaries.words_in(summary.text),
        "text": summary.text,
        "sections_total": summary.sections_total,
        "sections_done": summary.sections_done,
        "seconds": summary.seconds,
        "created_at": summary.created_at.isoformat(),
        "sources": [part_data(p) for p in parts if p.level == summary.cited_level],
        "sections": [part_data(p) for p in parts if p.level == 0],
    }


def part_data(part: SummaryPart) -> dict:
    url = reverse("ingestion:document", args=[part.summary.document_id])
    if part.first_chunk_id:
        url += f"?passage={part.first_chunk_id}" + (f"#page={part.first_page}" if part.first_page else "")
    return {
        "number": part.ordinal,
        "text": part.text,
        "first_page": part.first_page,
        "last_page": part.last_page,
        "url": url,
    }
