"""Conversations joined to the models: the turns a follow-up is read with, making it standalone (followups.py),
and renaming and deleting."""

import logging

from django.utils import timezone

from ingestion.extract import shorten
from ingestion.models import Chunk, Corpus

from . import followups, llm, payloads
from .models import Answer, Conversation
from .retrieval import Retrieval, retrieve

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 200
# A document's head: its title, byline and date are in its first passages.
HEAD_PASSAGES = 2
FELL_BACK = (
    "The follow-up could not be made into a question of its own from the conversation (the model's rewrite "
    "was empty or unrelated), so it was searched as asked."
)


def title_for(question: str) -> str:
    return shorten(question, TITLE_MAX_CHARS)


def open_for(question: str, corpora: list[Corpus], *, user, conversation: Conversation | None) -> Conversation | None:
    """The conversation a new question is a turn of: the one given (touched), or a new one for a signed-in
    asker; None for an asker without an account (the command line)."""
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
        return conversation
    if user is None:
        return None
    conversation = Conversation.objects.create(owner=user, title=title_for(question))
    conversation.corpora.set(corpora)
    return conversation


def turns_before(answer: Answer) -> list[followups.Turn]:
    """The conversation's turns before this answer, oldest first, the last TURNS_READ of them. An answer made
    from documents its asker can no longer read goes in without its text."""
    if answer.conversation_id is None:
        return []
    earlier = list(
        Answer.objects.filter(conversation_id=answer.conversation_id, pk__lt=answer.pk).order_by("-created_at", "-pk")[
            : followups.TURNS_READ
        ]
    )[::-1]
    withheld = payloads.withheld_answers(answer.asked_by, earlier) if answer.asked_by else set()
    return [
        followups.Turn(
            question=turn.question,
            standalone=turn.searched_for or turn.question,
            answer="" if turn.pk in withheld else turn.text,
            date=timezone.localdate(turn.created_at),
        )
        for turn in earlier
    ]


def make_standalone(answer: Answer, chosen: llm.Backend | None) -> followups.Rewrite:
    """What the answer's question is searched as, stored on it: as edited by the asker, as the LLM rewrote it
    from the conversation, or (without an LLM, or when it fails) by the heuristic."""
    if answer.rewrite == Answer.Rewrite.EDITED and answer.searched_for:
        rewrite = followups.Rewrite(answer.searched_for, Answer.Rewrite.EDITED)
    else:
        rewrite = rewritten(answer, chosen)
    answer.searched_for = rewrite.text
    answer.rewrite = Answer.Rewrite.FELL_BACK if rewrite.fell_back else rewrite.how
    answer.used_previous_answer = rewrite.needs_previous_answer
    answer.save(update_fields=["searched_for", "rewrite", "used_previous_answer"])
    return rewrite


def rewritten(answer: Answer, chosen: llm.Backend | None) -> followups.Rewrite:
    turns = turns_before(answer)
    # A question that names what it is about is searched as asked, without a call to the LLM.
    if not turns or not followups.leans_on_context(answer.question):
        return followups.Rewrite(answer.question, Answer.Rewrite.AS_ASKED)
    if chosen is None:
        return followups.heuristic(answer.question, turns)
    system, user = followups.rewrite_prompt(answer.question, turns, timezone.localdate(answer.created_at))
    try:
        reply = chosen.complete(system, user, max_new_tokens=followups.REWRITE_MAX_TOKENS)
    except llm.LLMError as exc:
        # The answer itself will say the server failed; the passages are still worth finding.
        log.warning("answer %s: the follow-up was not rewritten: %s", answer.pk, exc.message)
        return followups.heuristic(answer.question, turns)
    rewrite = followups.read_rewrite(reply, answer.question, turns)
    # The previous answer is worth sending only when it has words the model may use.
    if rewrite.needs_previous_answer and not turns[-1].answer:
        return followups.Rewrite(rewrite.text, rewrite.how)
    return rewrite


def search(answer: Answer, text: str, corpora: list[Corpus]) -> tuple[Retrieval, tuple[int, ...]]:
    """The passages for the answer's standalone question text, and the ids of those pinned first (else ()).

    "Who wrote it?": the search's own passages answer when one of the best speaks of authors; else the head
    of the document the conversation is about is pinned first (a byline is names, which no words match)."""
    found = retrieve(text, corpora)
    head = document_head(answer)
    if not head or any(followups.asks_about_document(p.chunk.text) for p in found.passages[:3]):
        return found, ()
    return retrieve(text, corpora, pinned=head), head


def document_head(answer: Answer) -> tuple[int, ...]:
    """For a follow-up about the document the conversation is about ("who wrote it?"), the ids of that
    document's first passages, where a byline or a date is: the document of the previous answer's first
    cited source (or, with no citation, its first source). Retrieval keeps them only in the corpora asked."""
    if answer.conversation_id is None or not followups.asks_about_document(answer.searched_for or answer.question):
        return ()
    previous = Answer.objects.filter(conversation_id=answer.conversation_id, pk__lt=answer.pk).order_by("-pk").first()
    if previous is None:
        return ()
    cited = previous.citations.order_by("source__number").values_list("source__document_id", flat=True).first()
    document_id = cited or previous.sources.order_by("number").values_list("document_id", flat=True).first()
    if document_id is None:
        return ()
    chunks = Chunk.objects.filter(document_id=document_id).order_by("ordinal").values_list("pk", flat=True)
    return tuple(chunks[:HEAD_PASSAGES])


def previous_answer_block(answer: Answer) -> str:
    """The previous turn's answer as a block for the prompt, when the rewrite said the question needs it."""
    if not answer.used_previous_answer:
        return ""
    turns = turns_before(answer)
    return followups.previous_answer_block(turns[-1]) if turns and turns[-1].answer else ""


def rename(conversation: Conversation, title: str) -> None:
    conversation.title = title_for(title)
    conversation.save(update_fields=["title"])


def delete(conversation: Conversation) -> None:
    """Deletes the conversation and its answers (their sources and citations with them), in one transaction."""
    conversation.delete()
