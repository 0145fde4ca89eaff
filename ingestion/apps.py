"""The ingestion app: corpora, documents and their passages, from upload to the indexes."""

from django.apps import AppConfig


class IngestionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingestion"
