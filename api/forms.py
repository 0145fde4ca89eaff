"""The form that names a new API token."""

from django import forms


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True, help_text="What it is for, e.g. “nightly sync script”.")
