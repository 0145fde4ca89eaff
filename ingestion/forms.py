from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .models import Corpus


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class UploadForm(forms.Form):
    # Empty files are accepted here and fail in the pipeline, with a message on their row.
    files = MultipleFileField(allow_empty_file=True, label="Files")

    def clean_files(self) -> list:
        files = self.cleaned_data["files"]
        if len(files) > settings.UPLOAD_MAX_FILES:
            raise forms.ValidationError(
                f"You can upload at most {settings.UPLOAD_MAX_FILES} files at a time; you chose {len(files)}."
            )
        limit = settings.UPLOAD_MAX_BYTES
        too_big = [f"{f.name} ({filesizeformat(f.size)})" for f in files if f.size > limit]
        if too_big:
            raise forms.ValidationError(
                f"Files larger than {filesizeformat(limit)} are not accepted: {', '.join(too_big)}. "
                "Nothing was uploaded."
            )
        return files


class CorpusForm(forms.ModelForm):
    class Meta:
        model = Corpus
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
