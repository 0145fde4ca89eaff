"""Who may do what with a corpus and its documents.

Reading is decided by `Corpus.objects.readable_by(user)` alone; the roles below only add the right to
change things, and only ever within corpora the user can read. A user's role in a corpus is the highest
of their own membership and their groups'; an open corpus makes every user at least a reader; staff
may do everything."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404

from .models import Corpus, Document, Membership

Role = Membership.Role
RANK = {Role.READER: 1, Role.CONTRIBUTOR: 2, Role.MANAGER: 3}


def readable_corpus(user, slug: str) -> Corpus:
    """The corpus, or a 404 as if it did not exist when the user may not read it."""
    return get_object_or_404(Corpus.objects.readable_by(user), slug=slug)


def readable_documents(user):
    return Document.objects.filter(corpus__in=Corpus.objects.readable_by(user))


def readable_document(user, pk: int) -> Document:
    return get_object_or_404(readable_documents(user).select_related("corpus"), pk=pk)


def role_in(user, corpus: Corpus) -> str | None:
    """The user's role in the corpus, or None if they may not read it."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_staff:
        return Role.MANAGER
    roles = Membership.objects.filter(corpus=corpus).filter(Q(user=user) | Q(group__in=user.groups.all()))
    best = max(roles.values_list("role", flat=True), key=RANK.__getitem__, default=None)
    return best or (Role.READER if corpus.is_open else None)


def can_upload(user, corpus: Corpus) -> bool:
    return RANK.get(role_in(user, corpus), 0) >= RANK[Role.CONTRIBUTOR]


def uploadable_corpus(user, slug: str) -> Corpus:
    """The corpus, if the user may upload to it: a 404 if they may not read it, a 403 if only read it."""
    corpus = readable_corpus(user, slug)
    if not can_upload(user, corpus):
        raise PermissionDenied("Only the corpus' contributors and managers may upload.")
    return corpus


def can_manage(user, corpus: Corpus) -> bool:
    return role_in(user, corpus) == Role.MANAGER


def can_change(user, document: Document, role: str | None = None) -> bool:
    """Retry or delete: a manager anything in the corpus, a contributor what they uploaded.
    `role` saves the lookup when the caller already knows the user's role in the corpus."""
    role = role or role_in(user, document.corpus)
    if role == Role.MANAGER:
        return True
    return role == Role.CONTRIBUTOR and document.uploaded_by_id == user.pk


def changeable_document(user, pk: int) -> Document:
    """A document the user may retry or delete: a 404 if they may not read it, a 403 if only read it."""
    document = readable_document(user, pk)
    if not can_change(user, document):
        raise PermissionDenied("Only the corpus' managers, or the contributor who uploaded it, may change it.")
    return document
