"""The forms of the corpus and document pages: a new corpus, an upload, a member, a document's details."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.template.defaultfilters import filesizeformat

from .models import Corpus, Document, Membership


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
                f"You can upload at most {settings.UPLOAD_MAX_FILES} files at a time; you chose {len(files)}.",
                code="too_many",
            )
        limit = settings.UPLOAD_MAX_BYTES
        too_big = [f"{f.name} ({filesizeformat(f.size)})" for f in files if f.size > limit]
        if too_big:
            raise forms.ValidationError(
                f"Files larger than {filesizeformat(limit)} are not accepted: {', '.join(too_big)}. "
                "Nothing was uploaded.",
                code="too_large",
            )
        return files

    @property
    def status(self) -> int:
        """The HTTP status of the form's refusal: 413 when a file is too large."""
        return 413 if self.has_error("files", code="too_large") else 400


class CorpusForm(forms.ModelForm):
    class Meta:
        model = Corpus
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class MemberForm(forms.Form):
    """A user (by username) or a group (by name) to give a role in a corpus."""

    name = forms.CharField(max_length=150, label="Username or group name")
    kind = forms.ChoiceField(choices=[("user", "User"), ("group", "Group")], initial="user")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.READER)

    def clean(self) -> dict:
        cleaned = super().clean()
        name, kind = cleaned.get("name"), cleaned.get("kind")
        if not name or not kind:
            return cleaned
        if kind == "user":
            cleaned["member"] = get_user_model().objects.filter(username=name, is_active=True).first()
        else:
            cleaned["member"] = Group.objects.filter(name=name).first()
        if cleaned["member"] is None:
            raise forms.ValidationError(f"There is no {'user' if kind == 'user' else 'group'} named “{name}”.")
        return cleaned


class DocumentDetailsForm(forms.ModelForm):
    """What a document is called, when it is from and where it came from, as people fix them. An empty title
    goes back to the file's name."""

    class Meta:
        model = Document
        fields = ["title", "document_date", "source_url"]
        labels = {"title": "Title", "document_date": "Date", "source_url": "Source URL"}
        help_texts = {
            "title": "Leave it empty to show the file's name.",
            "document_date": "The document's own date (YYYY-MM-DD); empty if it has none.",
            "source_url": "Where the document can be found (http or https); answers cite it.",
        }
        widgets = {"document_date": forms.DateInput(attrs={"type": "date"})}

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_source_url(self) -> str:
        url = self.cleaned_data["source_url"]
        if url and not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Give an address that starts with http:// or https://.")
        return url
