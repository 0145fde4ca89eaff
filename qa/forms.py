"""The ask form: the question, the corpora it may read, and the checks a question must pass."""

from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from ingestion.models import Corpus

from .models import Conversation

MAX_QUESTION_CHARS = 2000


def is_encodable(text: str) -> bool:
    """Whether the text can be stored and sent on: a JSON body can carry a lone UTF-16 surrogate ("\\udc80")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_encodable(text: str) -> None:
    if not is_encodable(text):
        raise ValidationError("The question contains characters that are not valid text. Type it again.")


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class AskForm(forms.Form):
    question = forms.CharField(
        max_length=MAX_QUESTION_CHARS,
        strip=True,
        validators=[validate_encodable],
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # None chosen means every corpus the user may read.
    corpora = forms.ModelMultipleChoiceField(
        queryset=Corpus.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    # The conversation this question continues (one of the asker's own); none starts a new one.
    conversation = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # What to search for instead of the question made standalone: the asker's edit of "Searched for".
    search = forms.CharField(
        max_length=MAX_QUESTION_CHARS, required=False, strip=True, validators=[validate_encodable],
        widget=forms.HiddenInput,
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # Only corpora the user may read can be chosen, or searched when none is: a slug of another
        # corpus is an invalid choice, the same as one that does not exist.
        self.fields["corpora"].queryset = Corpus.objects.readable_by(user)

    def chosen_corpora(self) -> list[Corpus]:
        """The corpora ticked; none ticked: a conversation's own (those still readable), else all readable."""
        readable = self.fields["corpora"].queryset
        if self.cleaned_data["corpora"]:
            return list(self.cleaned_data["corpora"])
        conversation = self.cleaned_data.get("conversation_object")
        kept = list(readable.filter(conversations=conversation)) if conversation else []
        return kept or list(readable)

    def refusal(self) -> Refusal | None:
        """Why the question cannot be asked, or None when it can. Every ask endpoint, page or API, asks
        this; the per-user limit is applied as the answer is stored (services.start_answer)."""
        if not self.is_valid():
            errors = {name: [str(e) for e in messages] for name, messages in self.errors.items()}
            return Refusal(400, "The question could not be asked.", errors)
        pk = self.cleaned_data.get("conversation")
        if pk:
            # Another user's conversation is answered as one that does not exist.
            conversation = Conversation.objects.filter(pk=pk, owner_id=self.user.pk).first()
            if conversation is None:
                return Refusal(404, "No such conversation.", {"conversation": ["No such conversation."]})
            self.cleaned_data["conversation_object"] = conversation
        return None

    def chosen_conversation(self) -> Conversation | None:
        return self.cleaned_data.get("conversation_object")


def ask_form(question: str, corpora: list[str], *, user, conversation: int | None = None, search: str = "") -> AskForm:
    """The ask form filled from plain values (a JSON body), so they are checked as the page's are."""
    data = QueryDict(mutable=True)
    data["question"] = question
    data["conversation"] = "" if conversation is None else str(conversation)
    data["search"] = search
    # A slug that is not valid text names no corpus; as "?" it is refused as an unknown choice, not by the database.
    data.setlist("corpora", [slug.encode("utf-8", "replace").decode() for slug in corpora])
    return AskForm(data=data, user=user)


class RatingForm(forms.Form):
    RATINGS = {"up": 1, "down": -1, "none": None}

    rating = forms.ChoiceField(choices=[(name, name) for name in RATINGS])

    def clean(self) -> dict:
        cleaned = super().clean()
        if "rating" in cleaned:
            cleaned["value"] = self.RATINGS[cleaned["rating"]]
        return cleaned


class RenameForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True, error_messages={"required": "A title cannot be empty."})
