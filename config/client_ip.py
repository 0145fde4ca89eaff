"""The client's address, for django-axes' throttles: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies
that each append to X-Forwarded-For, the address the first of them saw."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # Entries before the ones our proxies appended were written by the client, and may be anything.
    return forwarded[-proxies] if len(forwarded) >= proxies else remote
