from django import forms

from ingestion.models import Corpus

MAX_QUESTION_CHARS = 2000


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


class RatingForm(forms.Form):
    RATINGS = {"up": 1, "down": -1, "none": None}

    rating = forms.ChoiceField(choices=[(name, name) for name in RATINGS])

    def clean(self) -> dict:
        cleaned = super().clean()
        if "rating" in cleaned:
            cleaned["value"] = self.RATINGS[cleaned["rating"]]
        return cleaned
