from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.http import QueryDict

from ingestion.models import Corpus

from . import services

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class AskForm(forms.Form):
    question = forms.CharField(max_length=MAX_QUESTION_CHARS, strip=True, widget=forms.Textarea(attrs={"rows": 3}))
    # None chosen means every corpus the user may read.
    corpora = forms.ModelMultipleChoiceField(
        queryset=Corpus.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only corpora the user may read can be chosen, or searched when none is: a slug of another
        # corpus is an invalid choice, the same as one that does not exist.
        self.fields["corpora"].queryset = Corpus.objects.readable_by(user)

    def chosen_corpora(self) -> list[Corpus]:
        return list(self.cleaned_data["corpora"] or self.fields["corpora"].queryset)

    def refusal(self, user) -> Refusal | None:
        """Why the question is not answered (the form is invalid, or the user asked too many questions),
        or None when it may be. Every ask endpoint, page or API, asks this."""
        if not self.is_valid():
            errors = {name: [str(e) for e in messages] for name, messages in self.errors.items()}
            return Refusal(400, "The question could not be asked.", errors)
        if services.over_ask_limit(user):
            limit = settings.ASK_LIMIT_PER_MINUTE
            return Refusal(429, f"You have asked {limit} questions in the last minute. Wait a moment and ask again.")
        return None


def ask_form(question: str, corpora: list[str], *, user) -> AskForm:
    """The ask form filled from plain values (a JSON body), so they are checked as the page's are."""
    data = QueryDict(mutable=True)
    data["question"] = question
    data.setlist("corpora", corpora)
    return AskForm(data=data, user=user)


class RatingForm(forms.Form):
    RATINGS = {"up": 1, "down": -1, "none": None}

    rating = forms.ChoiceField(choices=[(name, name) for name in RATINGS])

    def clean(self) -> dict:
        cleaned = super().clean()
        if "rating" in cleaned:
            cleaned["value"] = self.RATINGS[cleaned["rating"]]
        return cleaned
