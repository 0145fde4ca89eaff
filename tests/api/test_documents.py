"""Corpora and documents through the API, with a user's token."""

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from ingestion import services
from ingestion.models import Document, Membership
from testkit.documents import make_pdf


def gif() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


def named(content: bytes, name: str) -> BytesIO:
    file = BytesIO(content)
    file.name = name
    return file


def test_a_request_without_a_token_is_refused_with_a_plain_message(client, corpus):
    response = client.get("/api/v1/corpora")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_an_unknown_or_revoked_token_is_refused(api, member):
    assert api.get("/api/v1/corpora").status_code == 200
    member.api_tokens.all().delete()
    assert api.get("/api/v1/corpora").status_code == 401
    api.defaults["HTTP_AUTHORIZATION"] = "Bearer dqa_not-a-real-key"
    assert api.get("/api/v1/corpora").status_code == 401


def test_the_token_of_a_deactivated_user_stops_working(api, member):
    member.is_active = False
    member.save()
    assert api.get("/api/v1/corpora").status_code == 401


def test_the_corpora_listed_are_those_the_user_may_read_with_their_role(api, member, corpus, make_member):
    mine = services.create_corpus(name="Mine")
    make_member(member, mine, Membership.Role.CONTRIBUTOR)
    services.create_corpus(name="Open to all").__class__.objects.filter(name="Open to all").update(is_open=True)
    rows = {row["slug"]: row for row in api.get("/api/v1/corpora").json()}
    assert set(rows) == {"mine", "open-to-all"}  # not "field-notes", of which they are no member
    assert rows["mine"]["role"] == "contributor"
    assert rows["open-to-all"]["role"] == "reader"
    assert rows["mine"]["documents_url"].endswith("/api/v1/corpora/mine/documents")


def test_uploading_many_files_returns_each_ones_document_and_status_url(api, member, corpus, make_member, tmp_path):
    make_member(member, corpus, Membership.Role.CONTRIBUTOR)
    pdf = make_pdf(tmp_path / "notes.pdf", pages=["Page one text.", "Page two text."])
    files = [named(pdf.read_bytes(), "notes.pdf"), named(b"Plain words.", "words.txt"), named(gif(), "x.gif")]
    response = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": files})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["uploaded", "uploaded", "uploaded"]
    assert [r["document"]["status"] for r in results] == ["queued", "queued", "failed"]
    assert "We can read PDF" in results[2]["document"]["error"]
    status = api.get(results[0]["document"]["status_url"])
    assert status.status_code == 200
    assert status.json()["id"] == results[0]["document"]["id"]
    assert status.json()["progress"]["percent"] == 0
    assert Document.objects.get(pk=results[1]["document"]["id"]).uploaded_by == member


def test_the_same_file_again_returns_the_existing_document(api, member, corpus, make_member):
    make_member(member, corpus, Membership.Role.CONTRIBUTOR)
    first = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [named(b"Same words.", "a.txt")]})
    again = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [named(b"Same words.", "b.txt")]})
    result = again.json()["results"][0]
    assert result["outcome"] == "duplicate"
    assert result["document"]["id"] == first.json()["results"][0]["document"]["id"]
    assert corpus.documents.count() == 1


def test_an_upload_without_files_is_refused_with_a_message(api, member, corpus, make_member):
    make_member(member, corpus)
    response = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {})
    assert response.status_code in (400, 422)
    assert corpus.documents.count() == 0


def test_more_files_than_the_server_reads_at_once_get_a_plain_json_refusal(api, member, corpus, make_member,
                                                                            settings):  # fmt: skip
    make_member(member, corpus)
    files = [named(f"File {n}.".encode(), f"{n}.txt") for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": files})
    assert response.status_code == 400
    assert "at most" in response.json()["detail"]
    assert corpus.documents.count() == 0


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(api, member, corpus, make_member, settings):
    make_member(member, corpus)
    settings.UPLOAD_MAX_BYTES = 10
    response = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [named(b"x" * 11, "big.txt")]})
    assert response.status_code == 413  # as the README and the schema promise
    assert "larger than" in response.json()["detail"]
    assert corpus.documents.count() == 0


def test_an_upload_declared_larger_than_the_limit_is_refused_before_it_is_read(api, member, corpus, make_member,
                                                                                 settings):  # fmt: skip
    make_member(member, corpus)
    settings.UPLOAD_MAX_BYTES, settings.UPLOAD_MAX_FILES = 10, 1
    response = api.post(
        f"/api/v1/corpora/{corpus.slug}/documents", {"files": [named(b"x" * 10, "a.txt")]},
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )  # fmt: skip
    assert response.status_code == 413
    assert "nothing was uploaded" in response.json()["detail"]


def test_a_reader_can_follow_documents_but_neither_upload_nor_delete(api, member, corpus, make_member):
    make_member(member, corpus, Membership.Role.READER)
    document = services.accept_upload(file=BytesIO(b"Kept."), name="kept.txt", corpus=corpus).document
    assert api.get(f"/api/v1/documents/{document.pk}").json()["can_delete"] is False
    upload = api.post(f"/api/v1/corpora/{corpus.slug}/documents", {"files": [named(b"New.", "new.txt")]})
    assert upload.status_code == 403
    assert api.delete(f"/api/v1/documents/{document.pk}").status_code == 403
    assert corpus.documents.count() == 1


def test_deleting_a_document_removes_it_with_its_file(api, member, corpus, make_member):
    make_member(member, corpus)
    document = services.accept_upload(file=BytesIO(b"Gone soon."), name="gone.txt", corpus=corpus).document
    path = Path(document.file.path)
    assert api.delete(f"/api/v1/documents/{document.pk}").status_code == 204
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not path.exists()
    assert api.get(f"/api/v1/documents/{document.pk}").status_code == 404


def test_a_failed_document_can_be_retried_and_a_ready_one_cannot(api, member, corpus, make_member):
    make_member(member, corpus)
    document = services.accept_upload(file=BytesIO(b"Words."), name="w.txt", corpus=corpus).document
    assert api.post(f"/api/v1/documents/{document.pk}/retry").status_code == 409
    Document.objects.filter(pk=document.pk).update(status=Document.Status.FAILED, error="Broken.")
    response = api.post(f"/api/v1/documents/{document.pk}/retry")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("status", ["ready", "failed"])
def test_the_documents_of_a_corpus_are_listed_a_page_at_a_time_and_filtered_by_status(
    api, member, corpus, make_member, status
):
    make_member(member, corpus, Membership.Role.READER)
    for number in range(3):
        services.accept_upload(file=BytesIO(f"Text {number}.".encode()), name=f"{number}.txt", corpus=corpus)
    corpus.documents.filter(original_name="0.txt").update(status=status)
    everything = api.get(f"/api/v1/corpora/{corpus.slug}/documents?limit=2").json()
    assert everything["count"] == 3
    assert len(everything["items"]) == 2
    filtered = api.get(f"/api/v1/corpora/{corpus.slug}/documents?status={status}").json()
    assert [row["original_name"] for row in filtered["items"]] == ["0.txt"]


def test_a_ready_documents_status_has_the_seconds_of_each_stage(api, member, field_notes, make_member):
    make_member(member, field_notes, Membership.Role.READER)
    seconds = api.get(f"/api/v1/documents/{field_notes.documents.get().pk}").json()["seconds"]
    assert all(seconds[stage] is not None and seconds[stage] >= 0 for stage in ("parse", "embed", "index"))


def test_passages_come_back_as_data_with_their_markup_untouched(api, member, field_notes, make_member):
    make_member(member, field_notes, Membership.Role.READER)
    document = field_notes.documents.get()
    chunk = document.chunks.first()
    chunk.text = "<script>alert(1)</script> & <b>bold</b>"
    chunk.save()
    response = api.get(f"/api/v1/documents/{document.pk}/passages")
    assert response["Content-Type"].startswith("application/json")
    texts = [row["text"] for row in response.json()["items"]]
    assert "<script>alert(1)</script> & <b>bold</b>" in texts
    assert response.json()["items"][0]["page"] == 1


def test_a_member_both_in_person_and_through_a_group_sees_each_document_counted_once(api, member, corpus,
                                                                                      make_member):  # fmt: skip
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="Field team")
    member.groups.add(team)
    make_member(member, corpus, Membership.Role.READER)
    Membership.objects.create(corpus=corpus, group=team, role=Membership.Role.CONTRIBUTOR)
    for name in ("a.txt", "b.txt"):
        services.accept_upload(file=BytesIO(name.encode()), name=name, corpus=corpus)
    (row,) = api.get("/api/v1/corpora").json()
    assert (row["documents"], row["role"]) == (2, "contributor")
