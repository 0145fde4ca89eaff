import pytest

from api import tokens
from ingestion.models import Membership


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user(username="mona", password="pw-for-tests-only")


@pytest.fixture
def api(client, member):
    """A test client that sends the member's API token (and no session) with every request."""
    _, key = tokens.create_token(member, "tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    client.user = member
    return client


@pytest.fixture
def make_member():
    def give(user, corpus, role: str = Membership.Role.MANAGER) -> None:
        Membership.objects.update_or_create(corpus=corpus, user=user, defaults={"role": role})

    return give
