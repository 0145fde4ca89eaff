"""Who may see a stored answer (its asker, and staff) and who may rate it (its asker). Whose passages they
may see is ingestion.access's."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Answer


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
