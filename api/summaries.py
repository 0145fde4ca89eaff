"""Document summaries over the API: ask for one (made in a worker, or the stored one) and follow it."""

from django.http import HttpRequest
from ninja import Router, Status

from ingestion import access
from qa import payloads, summarizing

from .schemas import Error, SummaryOut, responses

router = Router(tags=["summaries"])


@router.post(
    "/documents/{pk}/summary", response=responses({202: SummaryOut, 404: Error, 409: Error}), url_name="summarize",
    summary="Summarize a document: the stored summary for the current model, or one started in a worker",
    description=(
        "Map-reduce over the document's sections with the LLM (each sentence cites the section it came "
        "from), or an extracted summary without one. Poll `GET` until `status` is `ready` or `failed`; "
        "`sections` fill in as they finish. Asking again returns the same summary, made once."
    ),
)  # fmt: skip
def summarize(request: HttpRequest, pk: int) -> Status:
    document = access.readable_document(request.user, pk)
    try:
        summary = summarizing.request_summary(document, user=request.user)
    except summarizing.SummaryRefused as exc:
        return Status(409, {"detail": str(exc)})
    return Status(202, absolute(request, payloads.summary_data(summary)))


@router.get(
    "/documents/{pk}/summary", response=responses({200: SummaryOut, 404: Error}), url_name="summary",
    summary="A document's summary for the current model, as far as it has got",
)  # fmt: skip
def get_summary(request: HttpRequest, pk: int):
    document = access.readable_document(request.user, pk)
    summary = summarizing.current_summary(document)
    if summary is None:
        return Status(404, {"detail": "This document has not been summarized yet."})
    return absolute(request, payloads.summary_data(summary))


def absolute(request: HttpRequest, data: dict) -> dict:
    for part in data["sources"] + data["sections"]:
        part["url"] = request.build_absolute_uri(part["url"])
    return data
