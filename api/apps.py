"""The API app: tokens, the REST routes under /api/v1/ and the account pages that make tokens."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API"
