"""The ask, answer and history pages (the ask page's script asks through the API), and /healthz."""

import re

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ingestion.models import Corpus

from . import backends, health, payloads, services
from .access import own_answer, ratable_answer
from .forms import AskForm, RatingForm
from .models import Answer

HISTORY_PAGE_SIZE = 25
# [1], [1, 3], [1-2]: the markers the model was asked to write (as static/js/ask.js reads them).
MARKER = re.compile(r"\[(\s*\d+\s*(?:[,;\u2013-]\s*\d+\s*)*)\]")
NUMBER = re.compile(r"(\d+)")


@login_required
def ask_page(request: HttpRequest) -> HttpResponse:
    """The ask page. Its script asks through the API's stream; without the script, the form posts here and
    the answer page follows."""
    if request.method == "POST":
        form = AskForm(data=request.POST, user=request.user)
        refused = form.refusal()
        if refused is None:
            try:
                answer = services.ask(
                    form.cleaned_data["question"], form.chosen_corpora(), user=request.user,
                    base_url=request.build_absolute_uri("/"),
                )  # fmt: skip
            except services.AskLimitReached as exc:
                form.add_error(None, str(exc))
                return render_ask_page(request, form, status=429)
            return redirect(answer)
        return render_ask_page(request, form, status=refused.status)
    # ?corpus=slug (from a corpus' Ask button) ticks that corpus.
    chosen = Corpus.objects.readable_by(request.user).filter(slug__in=request.GET.getlist("corpus"))
    return render_ask_page(request, AskForm(initial={"corpora": chosen}, user=request.user))


def render_ask_page(request: HttpRequest, form: AskForm, status: int = 200) -> HttpResponse:
    # Without an LLM the page says that answers are quoted, and which setting has them written.
    context = {"form": form, "is_extracting": backends.answer_mode() == "extracted"}
    return render(request, "qa/ask.html", context, status=status)


@login_required
def answer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    answer = own_answer(request.user, pk)
    hidden = payloads.hidden_sources(request.user, answer)
    # The text and the citations (which quote it) go with any hidden passage: see payloads.WITHHELD.
    is_withheld = bool(hidden)
    citations = [] if is_withheld else list(answer.citations.select_related("source"))
    sources = [s for s in answer.sources.all() if s.number not in hidden]
    cards = [
        {
            "source": source,
            "state": verification([c for c in citations if c.source_id == source.pk], is_quote=answer.is_extracted),
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
    """The answer page's thumbs up or down, without its script (which rates through the API)."""
    answer = ratable_answer(request.user, pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("The rating must be up, down or none.")
    services.rate_answer(answer, form.cleaned_data["value"])
    return redirect(answer)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and operators: 200 when ok or degraded (no LLM server), 503 when down. Open to
    all, so it names only what was checked; staff also see why a check failed."""
    status, checks = health.run_checks()
    shows_detail = request.user.is_authenticated and request.user.is_staff
    body = {
        "status": status,
        "checks": {
            c.name: {"ok": c.ok, "ms": c.ms} | c.shown | ({"detail": c.detail} if shows_detail else {}) for c in checks
        },
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


def verification(citations: list, *, is_quote: bool = False) -> str:
    """How far a source's citations hold: verified, partly verified, unverified, or "" if none cite it.
    An extracted answer's citation is "quoted": its sentence is copied from the passage, nothing to verify."""
    if not citations:
        return ""
    if is_quote:
        return "quoted"
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
