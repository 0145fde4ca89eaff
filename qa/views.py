import json

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from ingestion.views import staff_required

from . import payloads, services
from .forms import AskForm
from .models import Answer


def read_form(request: HttpRequest) -> AskForm:
    """The ask form from a JSON body or from form fields."""
    if request.content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return AskForm(data={"question": ""})
        data = QueryDict(mutable=True)
        data["question"] = str(payload.get("question", ""))
        corpora = payload.get("corpora") or []
        data.setlist("corpora", [str(c) for c in (corpora if isinstance(corpora, list) else [corpora])])
        return AskForm(data=data)
    return AskForm(data=request.POST)


def form_errors(form: AskForm) -> JsonResponse:
    errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
    return JsonResponse({"error": "The question could not be asked.", "fields": errors}, status=400)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@staff_required
def ask_page(request: HttpRequest) -> HttpResponse:
    return render(request, "qa/ask.html", {"form": AskForm()})


@require_POST
@staff_required
def ask_json(request: HttpRequest) -> HttpResponse:
    form = read_form(request)
    if not form.is_valid():
        return form_errors(form)
    answer = services.ask(
        form.cleaned_data["question"], form.chosen_corpora(), user=request.user, base_url=base_url(request)
    )
    return JsonResponse(payloads.answer_data(answer))


@require_POST
@staff_required
def ask_stream(request: HttpRequest) -> HttpResponse:
    """The answer as server-sent events: sources, then tokens as they come, then done with the citations."""
    form = read_form(request)
    if not form.is_valid():
        return form_errors(form)
    events = services.answer_question(
        form.cleaned_data["question"], form.chosen_corpora(), user=request.user, base_url=base_url(request)
    )
    response = StreamingHttpResponse(
        (f"event: {e.kind}\ndata: {json.dumps(e.data)}\n\n" for e in events), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the stream back
    return response


@staff_required
def answer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    answer = get_object_or_404(Answer, pk=pk)
    if request.GET.get("format") == "json":
        return JsonResponse(payloads.answer_data(answer))
    citations = list(answer.citations.select_related("source"))
    sources = [
        {
            "number": source.number,
            "title": source.title,
            "page": source.page,
            "url": source.url,
            "segments": highlighted(
                source.text,
                # Only a verified citation has a sentence that supports it.
                [(c.highlight_start, c.highlight_end) for c in citations if c.source_id == source.pk and c.is_verified],
            ),
        }
        for source in answer.sources.all()
    ]
    return render(request, "qa/answer.html", {"answer": answer, "citations": citations, "sources": sources})


def highlighted(text: str, spans: list[tuple[int, int]]) -> list[dict]:
    """The text cut into pieces, marking those a citation rests on; the template escapes each."""
    segments, position = [], 0
    for start, end in sorted(set(spans)):
        start = max(start, position)
        if start >= end:
            continue
        segments += [{"text": text[position:start], "is_cited": False}, {"text": text[start:end], "is_cited": True}]
        position = end
    segments.append({"text": text[position:], "is_cited": False})
    return [s for s in segments if s["text"]]
