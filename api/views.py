"""The account page: API tokens, made and revoked by their owner, and a link to change the password."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import tokens
from .forms import TokenForm


def render_tokens(request: HttpRequest, form: TokenForm, new_key: str = "", status: int = 200) -> HttpResponse:
    context = {"tokens": request.user.api_tokens.all(), "form": form, "new_key": new_key}
    return render(request, "api/tokens.html", context, status=status)


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    return render_tokens(request, TokenForm())


@require_POST
@login_required
def create_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return render_tokens(request, form, status=400)
    _, key = tokens.create_token(request.user, form.cleaned_data["name"])
    # Shown in this response only, never redirected through the session: the key is not stored.
    response = render_tokens(request, TokenForm(), new_key=key, status=201)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    token.delete()
    messages.success(request, f"The token “{token.name}” was revoked; requests made with it are now refused.")
    return redirect("account:tokens")
