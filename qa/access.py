"""Who may see a stored answer or conversation (its asker, and staff) and who may rate or continue it (its
asker). Whose passages they may see is ingestion.access's."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Answer, Conversation


def own_answer(user, pk: int) -> Answer:
    """An answer the user asked (staff see all); others get a 404, as if it did not exist."""
    answer = get_object_or_404(Answer, pk=pk)
    if answer.asked_by_id != user.pk and not user.is_staff:
        raise Http404("No such answer.")
    return answer


def ratable_answer(user, pk: int) -> Answer:
    """An answer the user asked; staff may read others' answers but not rate them (403)."""
    answer = own_answer(user, pk)
    if answer.asked_by_id != user.pk:
        raise PermissionDenied("Only the person who asked may rate an answer.")
    return answer


def own_conversation(user, pk: int) -> Conversation:
    """A conversation of the user's, to continue, rename or delete; anyone else's is a 404."""
    return get_object_or_404(Conversation, pk=pk, owner_id=user.pk)


def readable_conversation(user, pk: int) -> Conversation:
    """A conversation its owner (or staff) may read; others get a 404, as if it did not exist."""
    conversation = get_object_or_404(Conversation, pk=pk)
    if conversation.owner_id != user.pk and not user.is_staff:
        raise Http404("No such conversation.")
    return conversation
