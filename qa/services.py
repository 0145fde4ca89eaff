"""Answering a question: retrieve, pack the prompt, stream the answer, resolve and verify citations.

start_answer stores the question (within the user's limit); answer_events then yields events as
the answer is made, for the streaming endpoints; ask does both and runs to the end. Whatever fails
(the LLM server above all), the user gets the passages and a plain message, and the stored Answer
says what happened.
"""

import logging
import time
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ingestion.models import Corpus

from . import backends, conversations, llm, payloads, summarizing
from .answering import (
    Event,
    Outcome,
    cpu_turn,
    elapsed_ms,
    extracted,
    generated,
    make_blocks,
    sources_event,
    summarized,
)
from .models import Answer, Conversation

log = logging.getLogger(__name__)


NO_PASSAGES = "Nothing in the selected documents matches this question closely enough to answer it."
UNEXPECTED = "Something went wrong while answering. Try again in a moment."
STOPPED = "The answer was stopped before it was complete."


class AskLimitReached(Exception):
    """The user has asked ASK_LIMIT_PER_MINUTE questions in the last minute; the message is meant for them."""


def ask(
    question: str, corpora: list[Corpus], *, user=None, base_url: str = "", conversation=None, search: str = ""
) -> Answer:
    """Answers a question to the end and returns the stored Answer; raises AskLimitReached."""
    answer = start_answer(question, corpora, user=user, conversation=conversation, search=search)
    for _ in answer_events(answer, corpora, base_url=base_url):
        pass
    return Answer.objects.get(pk=answer.pk)


def answer_question(question: str, corpora: list[Corpus], *, user=None, base_url: str = "") -> Iterator[Event]:
    """Starts an answer and yields its events; raises AskLimitReached when first iterated."""
    yield from answer_events(start_answer(question, corpora, user=user), corpora, base_url=base_url)


def start_answer(
    question: str, corpora: list[Corpus], *, user=None, conversation: Conversation | None = None, search: str = ""
) -> Answer:
    """Stores a new answer to be made, as the next turn of the conversation (a new one if None), or raises
    AskLimitReached. search, when given, is what the asker edited the question to be searched as.

    Counting the user's answers of the last minute and adding this one happen under one lock on the
    user's row, so parallel questions cannot all pass the limit before any of them is stored."""
    chosen = backends.backend()
    limit = settings.ASK_LIMIT_PER_MINUTE
    with transaction.atomic():
        if user is not None and limit:
            # PostgreSQL: one asker at a time per user. SQLite: transactions begin IMMEDIATE, one writer at a time.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            since = timezone.now() - timedelta(minutes=1)
            if Answer.objects.filter(asked_by=user, created_at__gte=since).count() >= limit:
                raise AskLimitReached(
                    f"You have asked {limit} questions in the last minute. Wait a moment and ask again."
                )
        answer = Answer.objects.create(
            question=question,
            conversation=conversations.open_for(question, corpora, user=user, conversation=conversation),
            searched_for=search,
            rewrite=Answer.Rewrite.EDITED if search else Answer.Rewrite.AS_ASKED,
            asked_by=user,
            mode=Answer.Mode.EXTRACTED if chosen is None else Answer.Mode.GENERATED,
            backend=chosen.name if chosen else "extractive",
        )
        answer.corpora.set(corpora)
    return answer


def answer_events(answer: Answer, corpora: list[Corpus], *, base_url: str = "") -> Iterator[Event]:
    """Makes a started answer, yielding its sources, its text as it comes, then the whole answer."""
    started = time.perf_counter()
    base_url = base_url or settings.SITE_URL
    chosen = backends.backend()
    try:
        yield from run(answer, chosen, corpora, started, base_url)
    except GeneratorExit:
        # The reader went away (a closed browser tab): the record must not stay "answering".
        if answer.status == Answer.Status.ANSWERING:
            finish(answer, started, status=Answer.Status.INCOMPLETE, message=STOPPED)
        raise
    except Exception:
        log.exception("answer %s failed", answer.pk)
        # Written by update(), not save(): whatever broke the answer (text the database refused, say)
        # must not break this too.
        status = Answer.Status.INCOMPLETE if answer.text else Answer.Status.UNAVAILABLE
        Answer.objects.filter(pk=answer.pk).update(status=status, message=UNEXPECTED, total_ms=elapsed_ms(started))
        answer.refresh_from_db()
        yield Event("done", payloads.answer_data(answer))


def run(answer: Answer, chosen: llm.Backend | None, corpora, started: float, base_url: str) -> Iterator[Event]:
    """Makes the question standalone, retrieves, answers one of three ways (nothing found, extracted,
    generated), then finishes: every way yields what was searched and the sources first, then any text, and
    returns its Outcome."""
    rewrite = conversations.make_standalone(answer, chosen)
    yield Event("searched", payloads.searched_data(answer))
    document = summarizing.requested_document(rewrite.text, corpora)
    if document is not None:
        outcome = yield from summarized(answer, document, base_url)
        finish(answer, started, status=outcome.status, message=outcome.message)
        yield Event("done", payloads.answer_data(answer))
        return
    with cpu_turn(answer):
        found, head = conversations.search(answer, rewrite.text, corpora)
    answer.retrieval_ms = found.seconds * 1000
    blocks = make_blocks(found.passages, base_url)
    if not blocks:
        yield sources_event(answer, [], [])
        outcome = Outcome(Answer.Status.NO_PASSAGES, NO_PASSAGES)
    elif chosen is None:
        from_head = bool(head) and found.passages[0].chunk.pk == head[0]
        outcome = yield from extracted(answer, found.passages, blocks, corpora, started, from_head=from_head)
    else:
        outcome = yield from generated(answer, chosen, found.passages, blocks, corpora, started)
    message = " ".join(m for m in [outcome.message, conversations.FELL_BACK if rewrite.fell_back else ""] if m)
    finish(answer, started, status=outcome.status, message=message)
    yield Event("done", payloads.answer_data(answer))


def rate_answer(answer: Answer, rating: int | None) -> None:
    """Stores the asker's thumbs up (1) or down (-1) on an answer; None takes it back."""
    answer.rating = rating
    answer.rated_at = timezone.now() if rating is not None else None
    answer.save(update_fields=["rating", "rated_at"])


def finish(answer: Answer, started: float, *, status: str, message: str = "") -> None:
    answer.status = status
    answer.message = message
    answer.total_ms = elapsed_ms(started)
    answer.save()
