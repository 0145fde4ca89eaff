"""Refuses an upload (any multipart POST, page or API) whose declared size is over the limit before any of
its body is read; on the pages, also one whose body cannot be read or received (the disk is full), in words.

It runs before the CSRF check, which would otherwise read (and store) the whole multipart body to find the
token, and fail where nothing can answer in words; so for views that have the CSRF check, it reads the
body first. Views exempt from it (the API, which checks CSRF for sessions itself) read their own bodies and
answer such failures themselves. The form still checks each file's own size once the body is read. A
browser's form post (it asks for text/html) gets a page; scripts and API clients get JSON in the API's
shape."""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve, reverse

from .services import STORAGE_FAILED

log = logging.getLogger(__name__)

# Room for the multipart boundaries, headers and the CSRF token around the files.
MULTIPART_OVERHEAD = 1024 * 1024
UNREADABLE_BODY = (
    "This upload could not be read: send the files as multipart/form-data, with a boundary and short part "
    "headers (browsers and curl -F do). Nothing was uploaded."
)


class UploadSizeLimit:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and self.is_upload(request):
            if self.declared_size(request) > self.limit():
                return self.refuse(request, self.too_large_message(), status=413, title="Too large")
            if is_csrf_exempt(request):
                return self.get_response(request)
            try:
                # Read the body here, where a full disk (Django spools large files to a temporary file)
                # can be answered in words, rather than wherever the view first touches it.
                request.FILES  # noqa: B018
            except OSError:
                log.exception("an upload could not be received")
                return self.refuse(request, STORAGE_FAILED, status=507, title="Not stored")
            except SuspiciousOperation:
                # Django's parser gives up on a body with too many files or fields.
                message = (
                    f"This upload has too many files at once: send at most {settings.UPLOAD_MAX_FILES} at a time. "
                    "Nothing was uploaded."
                )
                return self.refuse(request, message, status=400, title="Too many files")
            except (MultiPartParserError, BadRequest):
                return self.refuse(request, UNREADABLE_BODY, status=400, title="Not read")
        return self.get_response(request)

    @staticmethod
    def is_upload(request: HttpRequest) -> bool:
        return request.content_type == "multipart/form-data"

    @staticmethod
    def declared_size(request: HttpRequest) -> int:
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 0

    @staticmethod
    def limit() -> int:
        return settings.UPLOAD_MAX_BYTES * settings.UPLOAD_MAX_FILES + MULTIPART_OVERHEAD

    def too_large_message(self) -> str:
        return (
            f"This upload is larger than {filesizeformat(self.limit())} in all "
            f"({filesizeformat(settings.UPLOAD_MAX_BYTES)} a file); nothing was uploaded."
        )

    def refuse(self, request: HttpRequest, message: str, *, status: int, title: str) -> HttpResponse:
        if "text/html" not in request.headers.get("Accept", ""):
            return JsonResponse({"detail": message}, status=status)
        context = {"message": message, "back": back_link(request), "title": title, "status": status}
        return render(request, "413.html", context, status=status)


def is_csrf_exempt(request: HttpRequest) -> bool:
    try:
        return getattr(resolve(request.path_info).func, "csrf_exempt", False)
    except Resolver404:
        return False


def back_link(request: HttpRequest) -> str:
    """The corpus page the upload came from, or the home page."""
    try:
        slug = resolve(request.path_info).kwargs.get("slug")
    except Resolver404:
        slug = None
    return reverse("ingestion:corpus", args=[slug]) if slug else reverse("ingestion:home")
