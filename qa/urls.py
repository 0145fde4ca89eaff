"""The ask, answer and history pages."""

from django.urls import path

from . import views

app_name = "qa"

urlpatterns = [
    path("ask/", views.ask_page, name="ask"),
    path("answers/<int:pk>/", views.answer_detail, name="answer"),
    path("answers/<int:pk>/rating/", views.rate, name="rate"),
    path("history/", views.history, name="history"),
    path("healthz", views.healthz, name="healthz"),
]
