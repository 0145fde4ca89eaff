"""Refuses an upload whose declared size is over the limit before any of its body is read.

It runs before the CSRF check, which would otherwise read (and store) the whole multipart body to
find the token; the form still checks each file's own size once the body is read."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve, reverse

# The page's upload and the API's (whose POST shares its path, and so its resolved name, with the listing).
UPLOAD_VIEWS = {"ingestion:upload", "api:upload", "api:documents"}
# Room for the multipart boundaries, headers and the CSRF token around the files.
MULTIPART_OVERHEAD = 1024 * 1024


class UploadSizeLimit:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and self.is_upload(request) and self.declared_size(request) > self.limit():
            return self.refuse(request)
        return self.get_response(request)

    @staticmethod
    def is_upload(request: HttpRequest) -> bool:
        try:
            return resolve(request.path_info).view_name in UPLOAD_VIEWS
        except Resolver404:
            return False

    @staticmethod
    def declared_size(request: HttpRequest) -> int:
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 0

    @staticmethod
    def limit() -> int:
        return settings.UPLOAD_MAX_BYTES * settings.UPLOAD_MAX_FILES + MULTIPART_OVERHEAD

    def refuse(self, request: HttpRequest) -> HttpResponse:
        message = (
            f"This upload is larger than {filesizeformat(self.limit())} in all "
            f"({filesizeformat(settings.UPLOAD_MAX_BYTES)} a file); nothing was uploaded."
        )
        if resolve(request.path_info).view_name.startswith("api:"):
            return JsonResponse({"detail": message}, status=413)
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"results": [], "error": message}, status=413)
        back = reverse("ingestion:corpus", kwargs=resolve(request.path_info).kwargs)
        return render(request, "413.html", {"message": message, "back": back}, status=413)
