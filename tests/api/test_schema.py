"""The API's OpenAPI schema, served at a stable URL, and schemathesis run against it."""

import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest

from api import tokens
from ingestion import services
from ingestion.models import Document

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Whatever the fuzzer sends, the API answers without a server error, with a status, content type and body
# its schema documents, and a deleted document stays gone. (Schemathesis's "valid data must be accepted"
# checks are left out: a question about a corpus slug it made up is rightly refused.)
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "use_after_free,ignored_auth"
)


def test_the_openapi_schema_is_served_at_a_stable_url_to_a_token_or_a_logged_in_user(api):
    schema = api.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/corpora", "/api/v1/ask", "/api/v1/ask/stream", "/api/v1/documents/{pk}"} <= set(schema["paths"])
    assert "TokenAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(live_server, django_user_model, settings,
                                                                          tmp_path):  # fmt: skip
    settings.ASK_LIMIT_PER_MINUTE = 0  # so that its questions are answered, not refused as too many
    settings.AXES_FAILURE_LIMIT = 10_000  # its invalid-token checks expect 401, not the throttle (tested apart)
    user = django_user_model.objects.create_user(username="fuzzer", password="pw-for-tests-only")
    corpus = services.create_corpus(name="Fuzzed", manager=user)
    document = services.accept_upload(file=BytesIO(b"Some words."), name="words.txt", corpus=corpus).document
    Document.objects.filter(pk=document.pk).update(uploaded_by=user)
    _, key = tokens.create_token(user, "schemathesis")
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{live_server.url}/api/v1/openapi.json", "--header",
         f"Authorization: Bearer {key}", "--checks", CHECKS, "--max-examples", "15", "--seed", "20261124",
         "--request-timeout", "30", "--warnings", "off", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "API Operations" in result.stdout


def test_the_schema_and_its_docs_page_need_a_token_or_a_login(client, member):
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/api/v1/docs").status_code == 302
    client.force_login(member)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
