"""What a locked-out client is told (django-axes calls lockout_response; the API's token check too)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def wait_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message(what: str = "wrong passwords for this account") -> str:
    return (
        f"Too many {what} from your address, so it is paused for {wait_minutes()} minutes. "
        "Wait and try again, or ask an administrator to unlock it."
    )


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        # The API takes no passwords: what it counts is keys it does not know (api.api.TokenAuth).
        return JsonResponse({"detail": lockout_message("unknown API tokens")}, status=429)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": lockout_message()}, status=429)
    return render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)
