"""API tokens: made and revoked by their user, checked on every API request."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import ApiToken

KEY_PREFIX = "dqa_"
# last_used_at is written at most this often per token, not on every request.
USE_RECORDED_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    # The keys are long and random, so a fast hash is enough: nothing to guess from it.
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """Makes a token for the user; returns it and its key, which is not stored and cannot be shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[: len(KEY_PREFIX) + 6], key_hash=hash_key(key))
    return token, key


class PasswordChangeEndsTokens:
    """Listed with the password validators for Django's password_changed hook: a new password (from the
    account page, the admin or `changepassword`) revokes the user's API tokens, so that a stolen password
    leaves no working token behind. Django does not call it when it only rehashes a password at login."""

    def validate(self, password: str, user=None) -> None:
        pass  # any password is fine by this rule

    def password_changed(self, password: str, user=None) -> None:
        if user is not None and user.pk is not None:
            ApiToken.objects.filter(user=user).delete()

    def get_help_text(self) -> str:
        return "Changing your password revokes your API tokens."


def user_for_key(key: str):
    """The active user a key belongs to, or None for an unknown or revoked key."""
    if not key.startswith(KEY_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
