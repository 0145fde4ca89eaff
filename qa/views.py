import json
import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ingestion.models import Corpus

from . import health, payloads, services
from .access import own_answer
from .forms import AskForm, RatingForm, ask_form
from .models import Answer
from .streaming import event_stream

HISTORY_PAGE_SIZE = 25
# [1], [1, 3], [1-2]: the markers the model was asked to write (as static/js/ask.js reads them).
MARKER = re.compile(r"\[(\s*\d+\s*(?:[,;\u2013-]\s*\d+\s*)*)\]")
NUMBER = re.compile(r"(\d+)")


def read_form(request: HttpRequest) -> AskForm:
    """The ask form from a JSON body or from form fields."""
    if request.content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return ask_form("", [], user=request.user)
        corpora = payload.get("corpora") or []
        corpora = [str(c) for c in (corpora if isinstance(corpora, list) else [corpora])]
        return ask_form(str(payload.get("question", "")), corpora, user=request.user)
    return AskForm(data=request.POST, user=request.user)


def refusal(form: AskForm) -> JsonResponse | None:
    if refused := form.refusal():
        return JsonResponse({"error": refused.message, "fields": refused.fields}, status=refused.status)
    return None


def over_limit(exc: services.AskLimitReached) -> JsonResponse:
    return JsonResponse({"error": str(exc), "fields": {}}, status=429)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@login_required
def ask_page(request: HttpRequest) -> HttpResponse:
    # ?corpus=slug (from a corpus' Ask button) ticks that corpus.
    chosen = Corpus.objects.readable_by(request.user).filter(slug__in=request.GET.getlist("corpus"))
    return render(request, "qa/ask.html", {"form": AskForm(initial={"corpora": chosen}, user=request.user)})


@require_POST
@login_required
def ask_json(request: HttpRequest) -> HttpResponse:
    form = read_form(request)
    if refused := refusal(form):
        return refused
    try:
        answer = services.ask(
            form.cleaned_data["question"], form.chosen_corpora(), user=request.user, base_url=base_url(request)
        )
    except services.AskLimitReached as exc:
        return over_limit(exc)
    return JsonResponse(payloads.answer_data(answer))


@require_POST
@login_required
def ask_stream(request: HttpRequest) -> HttpResponse:
    """The answer as server-sent events: sources, then tokens as they come, then done with the citations."""
    form = read_form(request)
    if refused := refusal(form):
        return refused
    corpora = form.chosen_corpora()
    try:
        # Stored before the stream starts, so that a question over the limit gets its 429 and no stream.
        answer = services.start_answer(form.cleaned_data["question"], corpora, user=request.user)
    except services.AskLimitReached as exc:
        return over_limit(exc)
    return event_stream(services.answer_events(answer, corpora, base_url=base_url(request)))


@login_required
def answer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    answer = own_answer(request.user, pk)
    hidden = payloads.hidden_sources(request.user, answer)
    if request.GET.get("format") == "json":
        return JsonResponse(payloads.answer_data(answer, hidden))
    # The text and the citations (which quote it) go with any hidden passage: see payloads.WITHHELD.
    is_withheld = bool(hidden)
    citations = [] if is_withheld else list(answer.citations.select_related("source"))
    sources = [s for s in answer.sources.all() if s.number not in hidden]
    cards = [
        {
            "source": source,
            "state": verification([c for c in citations if c.source_id == source.pk]),
            "segments": highlighted(
                source.text,
                # Only a verified citation has a sentence that supports it.
                [(c.highlight_start, c.highlight_end) for c in citations if c.source_id == source.pk and c.is_verified],
            ),
        }
        for source in sources
    ]
    context = {
        "answer": answer,
        "answer_segments": [] if is_withheld else linked_markers(answer.text, {s.number: s for s in sources}),
        "is_withheld": is_withheld,
        "withheld_message": payloads.WITHHELD,
        "citations": citations,
        "cards": cards,
        "hidden_count": len(hidden),
    }
    return render(request, "qa/answer.html", context)


@require_POST
@login_required
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Thumbs up or down on one's own answer (rating=up|down|none); staff may read others' answers
    but not rate them."""
    answer = own_answer(request.user, pk)
    if answer.asked_by_id != request.user.pk:
        raise PermissionDenied("Only the person who asked may rate an answer.")
    form = RatingForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "The rating must be up, down or none."}, status=400)
    services.rate_answer(answer, form.cleaned_data["value"])
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"answer_id": answer.pk, "rating": answer.rating})
    return redirect(answer)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and operators: 200 when ok or degraded (no LLM server), 503 when down. Open to
    all, so it names only what was checked; staff also see why a check failed."""
    status, checks = health.run_checks()
    shows_detail = request.user.is_authenticated and request.user.is_staff
    body = {
        "status": status,
        "checks": {c.name: {"ok": c.ok, "ms": c.ms} | ({"detail": c.detail} if shows_detail else {}) for c in checks},
    }
    return JsonResponse(body, status=503 if status == "down" else 200)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's past questions, newest first."""
    answers = Answer.objects.filter(asked_by=request.user).prefetch_related("corpora")
    page = Paginator(answers, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    withheld = payloads.withheld_answers(request.user, list(page))
    for answer in page:
        answer.is_withheld = answer.pk in withheld
    return render(request, "qa/history.html", {"page": page, "withheld_message": payloads.WITHHELD})


def verification(citations: list) -> str:
    """How far a source's citations hold: verified, partly verified, unverified, or "" if none cite it."""
    if not citations:
        return ""
    verified = sum(c.is_verified for c in citations)
    return "verified" if verified == len(citations) else "partly verified" if verified else "unverified"


def linked_markers(text: str, sources: dict) -> list[dict]:
    """The answer cut into text and [n] markers, each number with its source (if the model saw it)."""
    pieces, position = [], 0
    for match in MARKER.finditer(text):
        pieces.append({"text": text[position : match.start()]})
        numbers = [
            {"text": part, "source": sources.get(int(part)) if part.isdecimal() else None}
            for part in NUMBER.split(match.group(1))
            if part
        ]
        pieces.append({"marker": numbers})
        position = match.end()
    pieces.append({"text": text[position:]})
    return pieces


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
