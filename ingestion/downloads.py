"""The uploaded file itself, as the pages and the API serve it."""

from django.http import FileResponse, Http404

from . import filetypes
from .models import Document


def original_file(document: Document, *, readable: bool = False) -> FileResponse:
    """The file as uploaded. Only a PDF, a PNG and a JPEG open in the browser: an uploaded HTML page served
    from our own address could run its scripts as the reader, so every other type is a download.
    readable: for the page's viewer, the copy of an encrypted PDF that its password opened, if there is one."""
    stored = document.unlocked_file if readable and document.unlocked_file else document.file
    try:
        handle = stored.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The file of this document is no longer stored.") from exc
    is_pdf = document.file_type == filetypes.PDF
    picture_type = drawn_picture_type(document)
    opens = is_pdf or picture_type is not None
    response = FileResponse(
        handle,
        as_attachment=not opens,
        filename=document.original_name,
        content_type="application/pdf" if is_pdf else picture_type or "application/octet-stream",
    )
    if not is_pdf:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def drawn_picture_type(document: Document) -> str | None:
    """The media type of a picture document that browsers draw (PNG, JPEG; not TIFF), from its bytes."""
    if document.file_type != filetypes.IMAGE:
        return None
    try:
        # A handle of its own: document.file.open() would hand back (and this would close) the one being served.
        with document.file.storage.open(document.file.name, "rb") as handle:
            head = handle.read(8)
    except (FileNotFoundError, ValueError):
        return None
    return filetypes.drawn_media_type(head)
