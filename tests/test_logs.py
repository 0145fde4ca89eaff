"""Log records carry the request id and the document id; requests carry their id back."""

import contextvars
import json
import logging

import pytest

from config import logs


def record(message: str) -> logging.LogRecord:
    entry = logging.LogRecord("docqa.test", logging.INFO, __file__, 1, message, None, None)
    logs.ContextFilter().filter(entry)
    return entry


def test_a_json_line_carries_the_request_and_the_document():
    token = logs.request_id.set("req-1")
    try:
        with logs.bound_document(42):
            line = logs.JsonFormatter().format(record("parsed"))
    finally:
        logs.request_id.reset(token)
    assert json.loads(line) | {"time": None} == {
        "time": None, "level": "INFO", "logger": "docqa.test", "message": "parsed", "request_id": "req-1",
        "document_id": "42",
    }  # fmt: skip


def test_outside_a_request_or_a_document_the_ids_are_dashes():
    entry = contextvars.Context().run(record, "idle")
    assert (entry.request_id, entry.document_id) == ("-", "-")


@pytest.mark.django_db
def test_every_response_names_its_request_and_keeps_the_proxys_id(client):
    made = client.get("/accounts/login/")["X-Request-ID"]
    assert len(made) == 16
    assert client.get("/accounts/login/", headers={"X-Request-ID": "edge-abc.123"})["X-Request-ID"] == "edge-abc.123"
    assert client.get("/accounts/login/", headers={"X-Request-ID": "bad id\n"})["X-Request-ID"] != "bad id\n"
