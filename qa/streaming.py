"""An answer's events as a server-sent event stream: the API's POST /ask/stream, which the ask page reads."""

import json
from collections.abc import Iterable

from django.http import StreamingHttpResponse

from .answering import Event


def event_stream(events: Iterable[Event]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (f"event: {e.kind}\ndata: {json.dumps(e.data, default=str)}\n\n" for e in events),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the stream back
    return response
