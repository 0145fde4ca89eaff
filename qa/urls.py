"""The ask, answer and history pages."""

from django.urls import path

from . import views

app_name = "qa"

urlpatterns = [
    path("ask/", views.ask_page, name="ask"),
    path("answers/<int:pk>/", views.answer_detail, name="answer"),
    path("answers/<int:pk>/rating/", views.rate, name="rate"),
    path("history/", views.history, name="history"),
    path("documents/<int:pk>/summary/", views.summary_page, name="summary"),
    path("conversations/<int:pk>/", views.conversation_detail, name="conversation"),
    path("conversations/<int:pk>/rename/", views.rename_conversation, name="rename_conversation"),
    path("conversations/<int:pk>/delete/", views.delete_conversation, name="delete_conversation"),
    path("healthz", views.healthz, name="healthz"),
]
