"""The question-answering app: retrieval, prompts, LLM clients, answers and their citations."""

from django.apps import AppConfig


class QaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "qa"
    verbose_name = "Questions and answers"
