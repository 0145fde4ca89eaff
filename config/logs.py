"""Log records that carry the request and the document they belong to, as text or as JSON lines.

A request id comes from the X-Request-ID header of the proxy (or is made up) and is sent back in the
response; a worker binds the id of the document it processes. Both go on every record logged meanwhile."""

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
document_id: ContextVar[str] = ContextVar("document_id", default="-")

SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.document_id = document_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "document_id": getattr(record, "document_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def bound_document(pk: int) -> Iterator[None]:
    token = document_id.set(str(pk))
    try:
        yield
    finally:
        document_id.reset(token)


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it sends a sane one) for its log records."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if SAFE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        request.request_id = rid
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        # A streamed answer logs after this returns, so its id stays (the next request sets its own).
        if not response.streaming:
            request_id.reset(token)
        return response
