"""API tokens are made and revoked by their user, on the account page."""

import re

from django.test import Client

from api import tokens
from api.models import ApiToken
from api.tokens import hash_key


def make_token(client, name: str = "sync script") -> str:
    response = client.post("/account/tokens/new/", {"name": name})
    assert response.status_code == 201
    return re.search(r'id="new-token">([^<]+)<', response.content.decode()).group(1)


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(staff_client):
    key = make_token(staff_client)
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(key)
    assert key not in token.prefix + token.name
    page = staff_client.get("/account/tokens/").content.decode()
    assert "sync script" in page
    assert key not in page


def test_a_token_works_on_the_api_until_it_is_revoked(staff_client):
    key = make_token(staff_client)
    token = ApiToken.objects.get()
    script = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert script.get("/api/v1/corpora").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None
    assert staff_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert script.get("/api/v1/corpora").status_code == 401


def test_nobody_revokes_another_users_token(staff_client, django_user_model):
    other = django_user_model.objects.create_user(username="other")
    token, _ = tokens.create_token(other, "theirs")
    assert staff_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_needs_a_name(staff_client):
    response = staff_client.post("/account/tokens/new/", {"name": "  "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_account_pages_need_a_logged_in_user(client):
    assert client.get("/account/tokens/").status_code == 302
    assert client.post("/account/tokens/new/", {"name": "x"}).status_code == 302


def password_change(new: str) -> dict:
    return {"old_password": "pw-for-tests-only", "new_password1": new, "new_password2": new}


def test_the_password_is_changed_on_a_page_of_the_app_and_checked_by_the_validators(staff_client):
    page = staff_client.get("/accounts/password_change/").content.decode()
    assert "DocQA" in page
    weak = staff_client.post("/accounts/password_change/", password_change("12345678"))
    assert weak.status_code == 200
    assert "too common" in weak.content.decode() or "entirely numeric" in weak.content.decode()
    good = staff_client.post("/accounts/password_change/", password_change("amber-quartz-meadow-91"))
    assert good.status_code == 302
    staff_client.user.refresh_from_db()
    assert staff_client.user.check_password("amber-quartz-meadow-91")
