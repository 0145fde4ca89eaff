"""The uploaded file itself, as the pages and the API serve it."""

from django.http import FileResponse, Http404

from . import filetypes
from .models import Document


def original_file(document: Document) -> FileResponse:
    """The file as uploaded. Only a PDF opens in the browser: an uploaded HTML page served from our own
    address could run its scripts as the reader, so every other type is a download."""
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The file of this document is no longer stored.") from exc
    is_pdf = document.file_type == filetypes.PDF
    response = FileResponse(
        handle,
        as_attachment=not is_pdf,
        filename=document.original_name,
        content_type="application/pdf" if is_pdf else "application/octet-stream",
    )
    if not is_pdf:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response
