"""The ask, answer and history pages (the ask page's script asks through the API), and /healthz."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ingestion import access
from ingestion.models import Corpus

from . import backends, conversations, health, payloads, services, summarizing
from .access import own_answer, own_conversation, ratable_answer, readable_conversation
from .forms import AskForm, RatingForm, RenameForm
from .models import Answer, Conversation

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
                    base_url=request.build_absolute_uri("/"), conversation=form.chosen_conversation(),
                    search=form.cleaned_data["search"],
                )  # fmt: skip
            except services.AskLimitReached as exc:
                form.add_error(None, str(exc))
                return render_ask_page(request, form, status=429)
            return redirect(answer)
        return render_ask_page(request, form, status=refused.status)
    # ?corpus=slug (from a corpus' Ask button) ticks that corpus; ?conversation=id continues one of one's own.
    readable = Corpus.objects.readable_by(request.user)
    chosen = readable.filter(slug__in=request.GET.getlist("corpus"))
    conversation = None
    if request.GET.get("conversation", "").isdecimal():
        conversation = own_conversation(request.user, int(request.GET["conversation"]))
        chosen = readable.filter(conversations=conversation)
    initial = {"corpora": chosen, "conversation": conversation.pk if conversation else None}
    return render_ask_page(request, AskForm(initial=initial, user=request.user), conversation=conversation)


def render_ask_page(
    request: HttpRequest, form: AskForm, status: int = 200, conversation: Conversation | None = None
) -> HttpResponse:
    # Without an LLM the page says that answers are quoted, and which setting has them written.
    context = {"form": form, "is_extracting": backends.answer_mode() == "extracted", "conversation": conversation}
    if conversation is not None:
        context |= {"earlier_turns": turns_of(conversation, request.user), "withheld_message": payloads.WITHHELD}
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


@login_required
def summary_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A document's summary: asked for with the button (POST), then shown as its sections finish (the page's
    script follows the API; without it, the page is reloaded by hand)."""
    document = access.readable_document(request.user, pk)
    refused = ""
    if request.method == "POST":
        try:
            summarizing.request_summary(document, user=request.user)
            return redirect("qa:summary", pk=document.pk)
        except summarizing.SummaryRefused as exc:
            refused = str(exc)
    summary = summarizing.current_summary(document)
    context = {
        "document": document,
        "summary": summary,
        "data": payloads.summary_data(summary) if summary else None,
        "refused": refused,
        "is_extracting": backends.answer_mode() == "extracted",
    }
    return render(request, "qa/summary.html", context, status=409 if refused else 200)


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
    """The user's conversations, the one asked in last first, each with its last turn."""
    rows = (
        Conversation.objects.filter(owner=request.user).prefetch_related("corpora").annotate(turn_count=Count("turns"))
    )
    # Ordered here: a query with an aggregate leaves the model's ordering out.
    page = Paginator(rows.order_by("-updated_at", "-pk"), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    last = {}
    for answer in Answer.objects.filter(conversation__in=list(page)).order_by("conversation_id", "-created_at", "-pk"):
        last.setdefault(answer.conversation_id, answer)
    withheld = payloads.withheld_answers(request.user, list(last.values()))
    for conversation in page:
        conversation.last = last.get(conversation.pk)
        conversation.is_withheld = conversation.last is not None and conversation.last.pk in withheld
    return render(request, "qa/history.html", {"page": page, "withheld_message": payloads.WITHHELD})


@login_required
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A conversation's turns, oldest first; its owner continues, renames or deletes it here."""
    conversation = readable_conversation(request.user, pk)
    context = {
        "conversation": conversation,
        "turns": turns_of(conversation, request.user),
        "is_owner": conversation.owner_id == request.user.pk,
        "rename_form": RenameForm(initial={"title": conversation.title}),
        "withheld_message": payloads.WITHHELD,
    }
    return render(request, "qa/conversation.html", context)


def turns_of(conversation: Conversation, user) -> list[Answer]:
    """The conversation's answers, oldest first, each marked is_withheld when made from documents the user
    can no longer read (see payloads.WITHHELD)."""
    turns = list(conversation.turns.order_by("created_at", "pk"))
    withheld = payloads.withheld_answers(user, turns)
    for turn in turns:
        turn.is_withheld = turn.pk in withheld
    return turns


@require_POST
@login_required
def rename_conversation(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request.user, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        conversations.rename(conversation, form.cleaned_data["title"])
        messages.success(request, "The conversation was renamed.")
    else:
        messages.error(request, " ".join(form.errors.get("title", ["The title could not be saved."])))
    return redirect(conversation)


@require_POST
@login_required
def delete_conversation(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request.user, pk)
    title = conversation.title
    conversations.delete(conversation)
    messages.success(request, f"The conversation “{title}” and its answers were deleted.")
    return redirect("qa:history")


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
