"""Titles, dates and source URLs people fix: on the document page and over the API, by whoever may change
the document (a manager, or the contributor who uploaded it), and by no one else."""

import io
import json

import pytest

from ingestion import services
from ingestion.models import Document, Membership

Role = Membership.Role


@pytest.fixture
def upload_as(corpus):
    def store(user, name: str = "minutes-2024.txt") -> Document:
        file = io.BytesIO(f"Minutes of the meeting, kept by {user.username}.".encode())
        return services.accept_upload(file=file, name=name, corpus=corpus, uploaded_by=user, send=False).document

    return store


def test_without_a_title_a_document_shows_its_file_name_without_the_extension(upload_as, member):
    document = upload_as(member, "Quarterly report.final.pdf")
    assert document.display_title == "Quarterly report.final"
    document.original_name = "README"
    assert document.display_title == "README"


def test_the_contributor_who_uploaded_a_document_sets_its_title_date_and_source_on_its_page(
    client, member, corpus, make_member, upload_as
):
    make_member(member, corpus, Role.CONTRIBUTOR)
    document = upload_as(member)
    client.force_login(member)
    page = client.get(document.get_absolute_url()).content.decode()
    assert 'id="edit-details"' in page
    assert "none of its own; uploaded" in page

    response = client.post(
        f"/documents/{document.pk}/details/",
        {"title": "  Board   minutes, March ", "document_date": "2024-03-05", "source_url": "https://example.org/m"},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.title, str(document.document_date), document.source_url) == (
        "Board minutes, March", "2024-03-05", "https://example.org/m"
    )  # fmt: skip
    page = client.get(document.get_absolute_url()).content.decode()
    assert "<h1>Board minutes, March</h1>" in page
    assert "were saved" in page

    client.post(f"/documents/{document.pk}/details/", {"title": "", "document_date": "", "source_url": ""})
    document.refresh_from_db()
    assert document.display_title == "minutes-2024"
    assert document.document_date is None


def test_a_source_url_that_is_not_http_is_refused_in_words_and_nothing_changes(
    client, member, corpus, make_member, upload_as
):
    make_member(member, corpus, Role.CONTRIBUTOR)
    document = upload_as(member)
    client.force_login(member)
    for url, problem in [
        ("ftp://example.org/m", "starts with http:// or https://"),
        ("javascript:alert(1)", "valid URL"),
    ]:
        response = client.post(
            f"/documents/{document.pk}/details/", {"title": "Changed", "document_date": "2024-03-05", "source_url": url}
        )
        assert response.status_code == 400
        assert problem in response.content.decode()
        assert "<h1>minutes-2024</h1>" in response.content.decode()  # the page shows what is saved
    document.refresh_from_db()
    assert document.title == ""


def test_another_contributor_and_a_reader_may_not_change_a_document_but_a_manager_may(
    client, member, corpus, make_member, upload_as, django_user_model
):
    make_member(member, corpus, Role.CONTRIBUTOR)
    document = upload_as(member)
    other = django_user_model.objects.create_user(username="otto")
    manager = django_user_model.objects.create_user(username="maud")
    make_member(manager, corpus, Role.MANAGER)
    for user, role, status in [(other, Role.CONTRIBUTOR, 403), (other, Role.READER, 403), (manager, None, 302)]:
        if role:
            make_member(user, corpus, role)
        client.force_login(user)
        assert ('id="edit-details"' in client.get(document.get_absolute_url()).content.decode()) == (status == 302)
        response = client.post(f"/documents/{document.pk}/details/", {"title": f"By {user.username}"})
        assert response.status_code == status
    document.refresh_from_db()
    assert document.title == "By maud"


def test_the_api_sets_only_the_details_it_is_sent(api, member, corpus, make_member, upload_as):
    make_member(member, corpus, Role.CONTRIBUTOR)
    document = upload_as(member)
    url = f"/api/v1/documents/{document.pk}"
    response = api.patch(url, json.dumps({"title": "Minutes", "date": "2024-03-05"}), content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["date"], body["source_url"]) == ("Minutes", "2024-03-05", "")

    response = api.patch(url, json.dumps({"source_url": "https://example.org/m"}), content_type="application/json")
    assert response.json()["title"] == "Minutes"
    assert response.json()["source_url"] == "https://example.org/m"

    response = api.patch(url, json.dumps({"source_url": "ftp://example.org/m"}), content_type="application/json")
    assert response.status_code == 400
    assert "http" in response.json()["fields"]["source_url"][0]

    response = api.patch(url, json.dumps({"date": None}), content_type="application/json")
    assert response.json()["date"] is None
    assert response.json()["title"] == "Minutes"


def test_the_api_refuses_a_reader_who_tries_to_change_a_document(api, member, corpus, make_member, upload_as):
    make_member(member, corpus, Role.READER)
    document = upload_as(member)
    response = api.patch(
        f"/api/v1/documents/{document.pk}", json.dumps({"title": "Mine"}), content_type="application/json"
    )
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.title == ""
