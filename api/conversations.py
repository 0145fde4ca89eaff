"""Conversations over the API: one's own listed, read (staff read any), renamed and deleted. A conversation
is continued by asking (`POST /ask` or `/ask/stream`) with its id."""

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from qa import conversations, payloads
from qa.access import own_conversation, readable_conversation
from qa.models import Conversation

from .pagination import LazyRows, Pages
from .schemas import ConversationOut, ConversationSummary, Error, FieldErrors, RenameIn, responses

router = Router(tags=["conversations"])


@router.get(
    "/conversations", response=responses({200: list[ConversationSummary]}), url_name="conversations",
    summary="Your conversations, the one asked in last first",
)  # fmt: skip
@paginate(Pages)
def list_conversations(request: HttpRequest) -> LazyRows:
    rows = Conversation.objects.filter(owner=request.user).prefetch_related("corpora")
    return LazyRows(rows, lambda conversation: summary_data(request, conversation))


def summary_data(request: HttpRequest, conversation: Conversation) -> dict:
    return {
        "conversation_id": conversation.pk,
        "title": conversation.title,
        "turns": conversation.turns.count(),
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "corpora": [corpus.slug for corpus in conversation.corpora.all()],
        "url": request.build_absolute_uri(conversation.get_absolute_url()),
    }


@router.get(
    "/conversations/{pk}", response=responses({200: ConversationOut, 404: Error}), url_name="conversation",
    summary="One conversation with its answers, oldest first",
)  # fmt: skip
def get_conversation(request: HttpRequest, pk: int) -> dict:
    conversation = readable_conversation(request.user, pk)
    turns = list(conversation.turns.order_by("created_at", "pk"))
    # Sources of documents the reader may no longer read stay hidden, answer by answer, as in GET /answers/{id}.
    answers = [payloads.answer_data(turn, payloads.hidden_sources(request.user, turn)) for turn in turns]
    return summary_data(request, conversation) | {"answers": answers}


@router.patch(
    "/conversations/{pk}", response=responses({200: ConversationSummary, 400: FieldErrors, 404: Error}),
    url_name="rename_conversation", summary="Rename one of your conversations",
)  # fmt: skip
def rename_conversation(request: HttpRequest, pk: int, body: RenameIn) -> dict:
    conversation = own_conversation(request.user, pk)
    conversations.rename(conversation, body.title)
    return summary_data(request, conversation)


@router.delete(
    "/conversations/{pk}", response=responses({204: None, 404: Error}), url_name="delete_conversation",
    summary="Delete one of your conversations and its answers",
)  # fmt: skip
def delete_conversation(request: HttpRequest, pk: int) -> Status:
    conversations.delete(own_conversation(request.user, pk))
    return Status(204, None)
