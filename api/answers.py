"""Asking over the API, and one's own answers. The same form, limit and services as the ask page."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from qa import payloads, services
from qa.access import own_answer
from qa.forms import RatingForm, ask_form
from qa.models import Answer
from qa.streaming import event_stream

from .pagination import LazyRows, Pages
from .schemas import AnswerOut, AnswerSummary, AskIn, Error, FieldErrors, RatingIn, RatingOut, responses

router = Router(tags=["answers"])

REFUSED = {400: FieldErrors, 404: FieldErrors, 429: FieldErrors}
# One event of the stream (OpenAPI before 3.2 describes a text/event-stream by its events).
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["searched", "sources", "token", "done"]},
        "data": {
            "type": "string",
            "description": "JSON: what was searched, the passages, a piece of text, or the whole answer.",
        },
    },
    "required": ["event", "data"],
}


@router.post(
    "/ask", response=responses({200: AnswerOut} | REFUSED), url_name="ask",
    summary="Ask a question and get the whole answer with its sources and citations",
)  # fmt: skip
def ask(request: HttpRequest, body: AskIn) -> Status:
    form = ask_form(body.question, body.corpora, user=request.user, conversation=body.conversation, search=body.search)
    if refused := form.refusal():
        return Status(refused.status, {"detail": refused.message, "fields": refused.fields})
    base_url = request.build_absolute_uri("/")
    try:
        answer = services.ask(
            form.cleaned_data["question"], form.chosen_corpora(), user=request.user, base_url=base_url,
            conversation=form.chosen_conversation(), search=form.cleaned_data["search"],
        )  # fmt: skip
    except services.AskLimitReached as exc:
        return Status(429, {"detail": str(exc), "fields": {}})
    return Status(200, payloads.answer_data(answer))


@router.post(
    "/ask/stream", response=responses(REFUSED), url_name="ask_stream",
    summary="Ask, and read the answer as server-sent events",
    description=(
        "Events: `searched` (the question made standalone: what is searched), `sources` (the passages, "
        "numbered), `token` (each piece of text as it is written), then `done` (the whole answer, as "
        "`POST /ask` returns it)."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "A text/event-stream of `sources`, `token` and `done` events.",
                "content": {"text/event-stream": {"schema": SSE_EVENT}},
            }
        }
    },
)  # fmt: skip
def ask_stream(request: HttpRequest, body: AskIn):
    form = ask_form(body.question, body.corpora, user=request.user, conversation=body.conversation, search=body.search)
    if refused := form.refusal():
        return Status(refused.status, {"detail": refused.message, "fields": refused.fields})
    corpora = form.chosen_corpora()
    try:
        answer = services.start_answer(
            form.cleaned_data["question"], corpora, user=request.user,
            conversation=form.chosen_conversation(), search=form.cleaned_data["search"],
        )  # fmt: skip
    except services.AskLimitReached as exc:
        return Status(429, {"detail": str(exc), "fields": {}})
    return event_stream(services.answer_events(answer, corpora, base_url=request.build_absolute_uri("/")))


@router.get(
    "/answers",
    response=responses({200: list[AnswerSummary]}),
    url_name="answers",
    summary="Your questions, newest first",
)
@paginate(Pages)
def list_answers(request: HttpRequest) -> LazyRows:
    answers = Answer.objects.filter(asked_by=request.user).prefetch_related("corpora")
    return LazyRows(answers, page=lambda page: summaries(request, page))


def summaries(request: HttpRequest, answers: list[Answer]) -> list[dict]:
    withheld = payloads.withheld_answers(request.user, answers)
    return [summary_data(request, answer, is_withheld=answer.pk in withheld) for answer in answers]


def summary_data(request: HttpRequest, answer: Answer, *, is_withheld: bool) -> dict:
    return {
        "answer_id": answer.pk,
        "conversation_id": answer.conversation_id,
        "question": answer.question,
        "answer": "" if is_withheld else answer.text,
        "status": answer.status,
        "rating": answer.rating,
        "created_at": answer.created_at,
        "corpora": [corpus.slug for corpus in answer.corpora.all()],
        "url": request.build_absolute_uri(answer.get_absolute_url()),
    }


@router.get("/answers/{pk}", response=responses({200: AnswerOut, 404: Error}), url_name="answer", summary="One answer")
def get_answer(request: HttpRequest, pk: int) -> dict:
    answer = own_answer(request.user, pk)
    return payloads.answer_data(answer, payloads.hidden_sources(request.user, answer))


@router.post(
    "/answers/{pk}/rating", response=responses({200: RatingOut, 403: Error, 404: Error}), url_name="rate_answer",
    summary="Thumbs up or down on your own answer (`none` takes it back)",
)  # fmt: skip
def rate_answer(request: HttpRequest, pk: int, body: RatingIn) -> dict:
    answer = own_answer(request.user, pk)
    if answer.asked_by_id != request.user.pk:
        raise PermissionDenied("Only the person who asked may rate an answer.")
    services.rate_answer(answer, RatingForm.RATINGS[body.rating])
    return {"answer_id": answer.pk, "rating": answer.rating}
