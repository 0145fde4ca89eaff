"""The REST API at /api/v1/: token (or session) authentication, error shapes, and its routers.

The OpenAPI schema is served at /api/v1/openapi.json and browsable at /api/v1/docs (both, like everything
else, for a logged-in user or a token)."""

import contextlib
import logging
from functools import wraps

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, django_auth

from ingestion.middleware import UNREADABLE_BODY
from ingestion.services import STORAGE_FAILED

from . import answers, conversations, documents, lockout, summaries, tokens

log = logging.getLogger(__name__)

UNAUTHENTICATED = "Send a valid API token as `Authorization: Bearer <token>` (make one at /account/tokens/), or log in."
# Unknown keys are counted per address by django-axes, as wrong passwords are, under a name of their own.
TOKEN_CREDENTIALS = {"username": "(API token)"}


class TokensPaused(Exception):
    """Too many unknown keys came from this address lately."""


def signed_in(view):
    """For the schema and its browsable docs: a logged-in user or a valid token, like every other route."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if request.user.is_authenticated or (scheme.lower() == "bearer" and tokens.user_for_key(key.strip())):
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            return JsonResponse({"detail": UNAUTHENTICATED}, status=401)
        return redirect_to_login(request.get_full_path())

    return wrapper


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`, with a key made on the account's API tokens page."""

    def authenticate(self, request: HttpRequest, token: str):
        user = tokens.user_for_key(token)
        if user is None:
            count_unknown_token(request)
            return None
        # Everything after this (the access rules, the services) reads the user from the request.
        request.user = user
        return user


def count_unknown_token(request: HttpRequest) -> None:
    """Logs and counts an unknown key; raises TokensPaused once the address has sent too many.

    A valid key is never refused: keys cannot be guessed, so the count only slows down and records a
    client that keeps trying."""
    if AxesProxyHandler.is_locked(request, TOKEN_CREDENTIALS):
        raise TokensPaused
    # django-axes records a failure's form fields: a body Django cannot parse is left empty for it (and is
    # answered in words where it is read).
    with contextlib.suppress(MultiPartParserError, SuspiciousOperation, BadRequest):
        request.POST  # noqa: B018
    AxesProxyHandler.user_login_failed(sender=TokenAuth, credentials=TOKEN_CREDENTIALS, request=request)


api = NinjaAPI(
    title="DocQA API",
    version="1",
    description=(
        "Upload documents into corpora, follow their processing, and ask questions answered from them "
        "with cited sources. Authenticate with `Authorization: Bearer <key>`; make a key on the "
        "account page (/account/tokens/). You see exactly what you see in the browser: the corpora you "
        "may read, and your own answers."
    ),
    auth=[TokenAuth(), django_auth],
    docs_decorator=signed_in,
    urls_namespace="api",
)
api.add_router("/", documents.router)
api.add_router("/", answers.router)
api.add_router("/", conversations.router)
api.add_router("/", summaries.router)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "You may not do this."}, status=403)


@api.exception_handler(SuspiciousOperation)
def unreadable(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django's multipart parser gives up on a body with too many files or fields.
    detail = (
        "The server could not read this request (too many files or fields at once?). Nothing was changed; "
        f"send at most {settings.UPLOAD_MAX_FILES} files per upload."
    )
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(MultiPartParserError)
@api.exception_handler(BadRequest)
def unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A multipart body without a boundary, or with a part header over Django's cap.
    return api.create_response(request, {"detail": UNREADABLE_BODY}, status=400)


@api.exception_handler(OSError)
def not_stored(request: HttpRequest, exc: OSError) -> HttpResponse:
    if request.content_type != "multipart/form-data":
        raise exc
    # Django spools a large upload to a temporary file as it reads the body: the disk filled meanwhile.
    log.exception("an upload could not be received")
    return api.create_response(request, {"detail": STORAGE_FAILED}, status=507)


@api.exception_handler(TokensPaused)
def paused(request: HttpRequest, exc: TokensPaused) -> HttpResponse:
    return api.create_response(request, {"detail": lockout.lockout_message("unknown API tokens")}, status=429)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": UNAUTHENTICATED}, status=401)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = "; ".join(f"{field_name(e['loc'])}: {e['msg']}" for e in exc.errors)
    detail = f"The request does not fit the API's schema ({problems})."
    return api.create_response(request, {"detail": detail, "errors": exc.errors}, status=422)


def field_name(location: list) -> str:
    """ "question" for ["body", "body", "question"]: where the input went, less the parameter's own wrapping."""
    parts = [str(part) for part in location]
    while len(parts) > 1 and parts[0] in ("body", "query", "path", "file", "form"):
        parts.pop(0)
    return ".".join(parts)
