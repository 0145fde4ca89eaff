"""An encrypted PDF read with the password someone gives on its page (or over the API): used once, never
stored or logged, and the original file kept as uploaded."""

import hashlib
import json
import logging
from pathlib import Path

import pytest

from ingestion import services
from ingestion.extract import ExtractionError
from ingestion.models import Document
from ingestion.tasks import ingest
from testkit.documents import make_encrypted_pdf

Status = Document.Status
PASSWORD = "tide-tables-9731"
PAGES = ["The lamp room key hangs behind the harbour master's door.", "The ledger is blue."]


@pytest.fixture
def locked(upload, tmp_path) -> Document:
    document = upload(make_encrypted_pdf(tmp_path / "locked.pdf", password=PASSWORD, pages=PAGES))
    ingest(document.pk)
    document.refresh_from_db()
    return document


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_encrypted_pdf_fails_asking_for_its_password_and_offers_no_retry(locked):
    assert locked.status == Status.FAILED
    assert locked.needs_password
    assert not locked.can_retry
    assert "Give the password on this document's page" in locked.error


def test_a_wrong_password_is_refused_in_words_and_changes_nothing(locked):
    before = sha256(Path(locked.file.path))
    with pytest.raises(ExtractionError, match="That password does not open this PDF"):
        services.unlock_document(locked, "not-it")
    locked.refresh_from_db()
    assert (locked.status, locked.needs_password, locked.unlocked_file.name) == (Status.FAILED, True, "")
    assert sha256(Path(locked.file.path)) == before
    assert [path.name for path in Path(locked.file.path).parent.iterdir()] == [Path(locked.file.path).name]


def test_the_right_password_reads_the_pdf_once_keeps_the_original_and_is_never_kept(locked, caplog):
    original = Path(locked.file.path)
    before = sha256(original)
    with caplog.at_level(logging.DEBUG):
        services.unlock_document(locked, PASSWORD)
        locked.refresh_from_db()
        assert locked.status == Status.QUEUED
        ingest(locked.pk)
    locked.refresh_from_db()
    assert locked.status == Status.READY, locked.error
    assert not locked.needs_password
    assert "lamp room key" in locked.chunks.first().text
    assert sha256(original) == before  # the upload is kept as it was
    assert locked.unlocked_file.name.endswith("-unlocked.pdf")
    assert PASSWORD not in caplog.text
    stored = json.dumps(list(Document.objects.filter(pk=locked.pk).values()), default=str)
    assert PASSWORD not in stored


def test_deleting_an_unlocked_document_deletes_both_files(locked):
    services.unlock_document(locked, PASSWORD)
    locked.refresh_from_db()
    files = [Path(locked.file.path), Path(locked.unlocked_file.path)]
    assert all(path.exists() for path in files)
    services.delete_document(locked)
    assert not any(path.exists() for path in files)


def test_the_page_asks_for_the_password_and_the_api_takes_it(locked, client, api, member, make_member):
    make_member(member, locked.corpus)
    client.force_login(member)
    page = client.get(locked.get_absolute_url()).content.decode()
    assert 'type="password"' in page
    response = client.post(f"/documents/{locked.pk}/password/", {"password": "wrong"}, follow=True)
    assert "That password does not open this PDF" in response.content.decode()

    response = api.post(
        f"/api/v1/documents/{locked.pk}/password", json.dumps({"password": "wrong"}), content_type="application/json"
    )
    assert response.status_code == 400
    response = api.post(
        f"/api/v1/documents/{locked.pk}/password", json.dumps({"password": PASSWORD}), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert response.json()["needs_password"] is False


def test_a_reader_may_not_give_the_password(locked, client, member, make_member):
    from ingestion.models import Membership

    make_member(member, locked.corpus, Membership.Role.READER)
    client.force_login(member)
    assert 'type="password"' not in client.get(locked.get_absolute_url()).content.decode()
    assert client.post(f"/documents/{locked.pk}/password/", {"password": PASSWORD}).status_code == 403
