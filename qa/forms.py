from django import forms

from ingestion.models import Corpus

MAX_QUESTION_CHARS = 2000


class AskForm(forms.Form):
    question = forms.CharField(max_length=MAX_QUESTION_CHARS, strip=True, widget=forms.Textarea(attrs={"rows": 3}))
    # None chosen means every corpus the user may read.
    corpora = forms.ModelMultipleChoiceField(
        queryset=Corpus.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

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
